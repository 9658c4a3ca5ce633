import { ConfigError } from '../errors.js';

export type VarValue = string | number | boolean;

// rpm-ostree treefile.rs: `^\s*(?P<var>[[:alnum:]_]+)\s*(?P<op>\S+)\s*(?P<val>true|false|[0-9]+|"(.*)")\s*$`
const COND = /^\s*([A-Za-z0-9_]+)\s*(\S+)\s*(true|false|[0-9]+|"(.*)")\s*$/;
const OPS = ['==', '!=', '<', '<=', '>', '>='] as const;

function kind(v: VarValue): string {
  return typeof v === 'number' ? 'integer' : typeof v;
}

/**
 * Evaluate one `conditional-include` `if:` condition. Throws a plain Error
 * (the caller adds file and key) on syntax errors, unknown variables and
 * type mismatches, as rpm-ostree does.
 */
export function evaluateCondition(cond: string, vars: Record<string, VarValue>): boolean {
  const m = COND.exec(cond);
  if (!m) throw new Error(`Invalid condition "${cond}" (expected: VARIABLE OP VALUE, VALUE = true, false, an integer or a "string")`);
  const [, name, op, raw, quoted] = m as unknown as [string, string, string, string, string | undefined];
  if (!(OPS as readonly string[]).includes(op)) throw new Error(`Unknown operator "${op}" in condition "${cond}"`);
  if (!(name in vars)) throw new Error(`Undefined variable "${name}" in condition "${cond}"`);
  const left = vars[name]!;
  const right: VarValue = quoted !== undefined ? quoted : raw === 'true' ? true : raw === 'false' ? false : Number(raw);
  if (typeof left !== typeof right)
    throw new Error(`Variable "${name}" (${kind(left)} ${JSON.stringify(left)}) is not the same type as ${raw} (${kind(right)}) in condition "${cond}"`);
  if (op === '==') return left === right;
  if (op === '!=') return left !== right;
  if (typeof left !== 'number') throw new Error(`Operator "${op}" needs integers, "${name}" is a ${kind(left)} in condition "${cond}"`);
  const r = right as number;
  return op === '<' ? left < r : op === '<=' ? left <= r : op === '>' ? left > r : left >= r;
}

/** `${name}` text replacement, once, no recursion; unknown `${x}` left as is (envsubst semantics). */
export function substitute(s: string, vars: Record<string, VarValue>): string {
  let out = s;
  for (const [k, v] of Object.entries(vars)) out = out.split('${' + k + '}').join(String(v));
  return out;
}

export function validateVars(vars: Record<string, VarValue>, where: string): void {
  for (const [k, v] of Object.entries(vars)) {
    if (/[${}]/.test(k) || /[${}]/.test(String(v))) throw new ConfigError(`${where}: variables.${k}: names and values may not contain '$', '{' or '}'`);
  }
}
