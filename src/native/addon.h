#ifndef COREFORGE_ERRORS_H
#define COREFORGE_ERRORS_H
#include <node_api.h>

/* The code string of an errno value ("ENOENT", …; "EIO" for the ones we do not name). */
const char *coreforge_errno_code(int err);
/* An Error with .code (and .errno when err != 0, .path when path != NULL), not thrown. */
napi_value coreforge_error(napi_env env, const char *code, int err, const char *message, const char *path);

#endif
