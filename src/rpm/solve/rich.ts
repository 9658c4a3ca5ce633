/**
 * rpm rich (boolean) dependencies: `(a and b)`, `or`, `if`/`else`,
 * `unless`/`else`, `with`, `without`, nested, each leaf `name [op evr]`.
 */
import { parseEVR, parseFlags, type EVR } from '../version.js';
import { InvalidInputError } from '../../errors.js';

export type RichOp = 'and' | 'or' | 'if' | 'unless' | 'with' | 'without';

export type RichDep =
  | { kind: 'leaf'; name: string; flags: number; evr?: EVR }
  | { kind: 'op'; op: RichOp; args: RichDep[]; /** `else` branch of if/unless */ otherwise?: RichDep };

const OPS = new Set(['and', 'or', 'if', 'unless', 'with', 'without']);

export function isRich(name: string): boolean {
  return name.charCodeAt(0) === 40; /* ( */
}

export function parseRich(s: string): RichDep {
  const toks = s.match(/\(|\)|[^\s()]+/g) ?? [];
  let i = 0;
  const fail = (msg: string): never => {
    throw new InvalidInputError(`invalid rich dependency '${s}': ${msg}`);
  };
  const term = (): RichDep => {
    if (toks[i] === '(') {
      i++;
      const e = expr();
      if (toks[i] !== ')') fail('missing )');
      i++;
      return e;
    }
    const name = toks[i++];
    if (!name || name === ')' || OPS.has(name)) fail('expected a name');
    const op = toks[i];
    if (op && /^(<|>|=|<=|>=|==)$/.test(op)) {
      i++;
      const v = toks[i++];
      if (!v || v === ')') fail('expected a version');
      return { kind: 'leaf', name: name!, flags: parseFlags(op), evr: parseEVR(v!) };
    }
    return { kind: 'leaf', name: name!, flags: 0 };
  };
  const expr = (): RichDep => {
    const first = term();
    const op = toks[i];
    if (!op || op === ')') return first;
    if (!OPS.has(op)) fail(`unknown operator '${op}'`);
    i++;
    const args = [first, term()];
    if (op === 'if' || op === 'unless') {
      if (toks[i] === 'else') {
        i++;
        return { kind: 'op', op, args, otherwise: term() };
      }
      return { kind: 'op', op, args };
    }
    // and/or/with chains of the same operator
    while (toks[i] === op) {
      i++;
      args.push(term());
    }
    return { kind: 'op', op: op as RichOp, args };
  };
  if (toks[0] !== '(') fail('must start with (');
  const r = term();
  if (i !== toks.length) fail('trailing tokens');
  return r;
}

export function richToString(d: RichDep): string {
  if (d.kind === 'leaf') return d.name + (d.flags && d.evr ? ` ${['', '>', '=', '>=', '<', '', '<='][d.flags]} ${formatLeafEvr(d.evr)}` : '');
  const inner = d.args.map((a) => (a.kind === 'op' ? richToString(a) : richToString(a))).join(` ${d.op} `);
  return `(${inner}${d.otherwise ? ` else ${richToString(d.otherwise)}` : ''})`;
}

function formatLeafEvr(e: EVR): string {
  return `${e.epoch !== undefined ? `${e.epoch}:` : ''}${e.version}${e.release !== undefined ? `-${e.release}` : ''}`;
}
