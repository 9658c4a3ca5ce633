import { isCoreforgeError } from '../errors.js';

/**
 * An error as it crosses a worker-thread boundary (structured clone keeps
 * neither the class nor the extra fields of our typed errors).
 */
export interface WorkerErrorData {
  /** The class name of a CoreforgeError, else 'Error'. */
  name: string;
  message: string;
  /** Own fields with primitive values: code, exitCode, and a class's own (pkg, path, status…). */
  fields: Record<string, string | number | boolean>;
  stack?: string;
}

export function errorToData(e: unknown): WorkerErrorData {
  const err = (e ?? {}) as Error & Record<string, unknown>;
  const fields: Record<string, string | number | boolean> = {};
  if (typeof err === 'object') {
    for (const [k, v] of Object.entries(err)) if (k !== 'name' && k !== 'message' && (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) fields[k] = v;
  }
  return {
    name: isCoreforgeError(e) ? err.constructor.name : 'Error',
    message: typeof err.message === 'string' ? err.message : String(e),
    fields,
    ...(typeof err.stack === 'string' ? { stack: err.stack } : {}),
  };
}

/**
 * The error a worker reported, rebuilt with the same class (when `classes`
 * names it: callers test with instanceof; another CoreforgeError becomes a
 * CoreforgeError when that is listed), message and fields.
 */
export function errorFromData(d: WorkerErrorData, classes: ReadonlyArray<{ prototype: object; name: string }>): Error {
  const cls = classes.find((c) => c.name === d.name) ?? (d.name !== 'Error' ? classes.find((c) => c.name === 'CoreforgeError') : undefined);
  const e = (cls ? Object.create(cls.prototype) : new Error(d.message)) as Error & Record<string, unknown>;
  Object.defineProperty(e, 'message', { value: d.message, writable: true, configurable: true });
  if (cls) e.name = d.name;
  Object.assign(e, d.fields);
  if (d.stack !== undefined) Object.defineProperty(e, 'stack', { value: d.stack, writable: true, configurable: true });
  return e;
}
