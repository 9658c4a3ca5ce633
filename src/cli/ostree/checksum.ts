import { createReadStream, promises as fsp } from 'node:fs';
import { resolve } from 'node:path';
import { CoreforgeError } from '../../errors.js';
import { ContentHasher, FileHeader } from '../../ostree/objects/content.js';
import { S_IFLNK, S_IFREG } from '../../ostree/objects/dirmeta.js';
import { readXattrs } from '../../ostree/objects/xattrs.js';
import { parseVerbArgs } from './common.js';
import type { OstreeVerb } from './verb.js';

/** `ostree checksum PATH`: the content-object checksum a file on disk would get (ot-builtin-checksum.c). */
export const checksumVerb: OstreeVerb = {
  name: 'checksum',
  async run(argv, ctx) {
    const p = parseVerbArgs(argv, { 'ignore-xattrs': { kind: 'boolean', help: "Don't include xattrs in checksum" } }, 'checksum [OPTION…] PATH', ctx);
    if (!p) return 0;
    if (p.args.length < 1) throw new CoreforgeError('EINVAL', 'A filename must be given');
    const path = resolve(ctx.cwd, p.args[0]!);
    const st = await fsp.lstat(path).catch((e: NodeJS.ErrnoException) => {
      throw new CoreforgeError('ENOTFOUND', `${p.args[0]}: ${e.message}`);
    });
    const xattrs = p.opts['ignore-xattrs'] ? [] : readXattrs(path);
    let h: ContentHasher;
    if (st.isSymbolicLink()) {
      h = new ContentHasher(new FileHeader(st.uid, st.gid, S_IFLNK | 0o777, xattrs, await fsp.readlink(path)));
    } else if (st.isFile()) {
      h = new ContentHasher(new FileHeader(st.uid, st.gid, S_IFREG | (st.mode & 0o7777), xattrs));
      for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) h.update(chunk as Buffer);
    } else {
      throw new CoreforgeError('EUNSUPPORTED', `${p.args[0]}: only regular files and symlinks can be checksummed`);
    }
    ctx.stdout.write(`${h.digest()}\n`);
    return 0;
  },
};
