import { InvalidInputError } from '../errors.js';

/**
 * Build versions as rpm-ostree computes them (`automatic-version-prefix`,
 * `<date:FORMAT>`, the `.N` increment: rpmostree-util.cxx util_next_version /
 * increment_version) and as cosa turns them into build IDs.
 */

const WEEKDAY = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTH = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

class DateFormatError extends Error {}

function isoWeek(d: Date): { year: number; week: number } {
  // ISO 8601: the week with the year's first Thursday is week 1
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const dow = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - dow);
  const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1);
  return { year: t.getUTCFullYear(), week: Math.ceil(((t.getTime() - yearStart) / 86400000 + 1) / 7) };
}

function dayOfYear(d: Date): number {
  return Math.floor((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86400000) + 1;
}

/**
 * `g_date_time_format` for a UTC time in the C locale: the conversions and the
 * `_ - 0 O E` modifiers GLib knows; anything else makes the whole format
 * invalid (GLib returns NULL, rpm-ostree reports "error in formatting date
 * string").
 */
export function formatDate(fmt: string, d: Date): string {
  let out = '';
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i]!;
    if (c !== '%') {
      out += c;
      continue;
    }
    let pad: '' | '_' | '-' | '0' = '';
    let j = i + 1;
    // modifiers may be stacked, the last padding one wins; O (alternative digits) changes
    // nothing in the C locale, E (era) has no representation there, so GLib fails
    for (;;) {
      const m = fmt[j];
      if (m === 'O') j++;
      else if (m === 'E') throw new DateFormatError(fmt);
      else if (m === '_' || m === '-' || m === '0') {
        pad = m;
        j++;
      } else break;
    }
    const conv = fmt[j];
    if (conv === undefined) {
      if (j === i + 1) break; // GLib drops a lone trailing '%'
      throw new DateFormatError(fmt);
    }
    i = j;
    // GLib pads %e %k %l with U+2007 FIGURE SPACE by default, '_' with an ASCII space
    const num = (n: number, width: number, defPad: '0' | '\u2007'): string => {
      const s = String(n);
      const p = pad === '' ? defPad : pad === '-' ? '' : pad === '_' ? ' ' : '0';
      return p === '' ? s : s.padStart(width, p);
    };
    const Y = d.getUTCFullYear();
    const H = d.getUTCHours();
    const h12 = H % 12 === 0 ? 12 : H % 12;
    switch (conv) {
      case 'a': out += WEEKDAY[d.getUTCDay()]!.slice(0, 3); break;
      case 'A': out += WEEKDAY[d.getUTCDay()]!; break;
      case 'b': case 'h': out += MONTH[d.getUTCMonth()]!.slice(0, 3); break;
      case 'B': out += MONTH[d.getUTCMonth()]!; break;
      case 'c': out += formatDate('%a %b %e %H:%M:%S %Y', d); break;
      case 'C': out += num(Math.floor(Y / 100), 2, '0'); break;
      case 'd': out += num(d.getUTCDate(), 2, '0'); break;
      case 'e': out += num(d.getUTCDate(), 2, '\u2007'); break;
      case 'f': out += num(d.getUTCMilliseconds() * 1000, 6, '0'); break;
      case 'F': out += formatDate('%Y-%m-%d', d); break;
      case 'g': out += num(isoWeek(d).year % 100, 2, '0'); break;
      case 'G': out += num(isoWeek(d).year, 0, '0'); break;
      case 'H': out += num(H, 2, '0'); break;
      case 'I': out += num(h12, 2, '0'); break;
      case 'j': out += num(dayOfYear(d), 3, '0'); break;
      case 'k': out += num(H, 2, '\u2007'); break;
      case 'l': out += num(h12, 2, '\u2007'); break;
      case 'm': out += num(d.getUTCMonth() + 1, 2, '0'); break;
      case 'M': out += num(d.getUTCMinutes(), 2, '0'); break;
      case 'n': out += '\n'; break;
      case 'p': out += H < 12 ? 'AM' : 'PM'; break;
      case 'P': out += H < 12 ? 'am' : 'pm'; break;
      case 'r': out += formatDate('%I:%M:%S %p', d); break;
      case 'R': out += formatDate('%H:%M', d); break;
      case 's': out += String(Math.floor(d.getTime() / 1000)); break;
      case 'S': out += num(d.getUTCSeconds(), 2, '0'); break;
      case 't': out += '\t'; break;
      case 'T': out += formatDate('%H:%M:%S', d); break;
      case 'u': out += String(d.getUTCDay() || 7); break;
      case 'V': out += num(isoWeek(d).week, 2, '0'); break;
      case 'w': out += String(d.getUTCDay()); break;
      case 'x': out += formatDate('%m/%d/%y', d); break;
      case 'X': out += formatDate('%H:%M:%S', d); break;
      case 'y': out += num(Y % 100, 2, '0'); break;
      case 'Y': out += num(Y, 0, '0'); break;
      case 'z': out += '+0000'; break;
      case ':': {
        // %:z %::z %:::z
        let k = j;
        while (fmt[k] === ':') k++;
        if (fmt[k] !== 'z' || k - j > 3) throw new DateFormatError(fmt);
        out += ['+00:00', '+00:00:00', '+00'][k - j - 1];
        i = k;
        break;
      }
      case 'Z': out += 'UTC'; break;
      case '%': out += '%'; break;
      default:
        throw new DateFormatError(fmt);
    }
  }
  return out;
}

/** strtoull on the text after the prefix: leading blanks, a sign, digits; no digits → 0; overflow → ULLONG_MAX. */
function strtoull(s: string): bigint {
  const m = /^[ \t\n\v\f\r]*([+-]?)(\d*)/.exec(s)!;
  if (m[2] === '') return 0n;
  const max = (1n << 64n) - 1n;
  let n = BigInt(m[2]!);
  if (n > max) return max;
  if (m[1] === '-') n = ((1n << 64n) - n) & max;
  return n;
}

function incrementVersion(suffix: string, last: string | undefined, prefix: string, start: string | null): string {
  const incremented = `${prefix}${suffix}${start}`;
  if (!last || !last.startsWith(prefix)) return start !== null ? incremented : prefix;
  if (last === prefix) return start !== null ? incremented : `${prefix}${suffix}1`;
  const rest = last.slice(prefix.length);
  if (rest[0] !== suffix) return start !== null ? incremented : prefix;
  const n = (strtoull(rest.slice(1)) + 1n) & ((1n << 64n) - 1n);
  return `${prefix}${suffix}${n}`;
}

/**
 * rpm-ostree's next version: render the `<date:FORMAT>` tag of the prefix (UTC `now`), then
 * append/increment `.N` (or `suffix`) against the last version. With a date tag the count
 * restarts at 0 when the rendered prefix changes; without one the prefix alone is the first
 * version and `.1`, `.2`… follow.
 */
export function nextVersion(prefix: string, lastVersion: string | undefined, opts: { suffix?: string; now?: Date } = {}): string {
  const suffix = opts.suffix ?? '.';
  if ([...suffix].length !== 1) throw new InvalidInputError(`automatic-version-suffix: must be exactly one character, got '${suffix}'`);
  const now = opts.now ?? new Date();
  let rendered = prefix;
  let dateTag = false;
  // GRegex "<([a-zA-Z]+):(.*)?>": greedy, so one tag per line
  const m = /<([a-zA-Z]+):(.*)?>/.exec(prefix);
  if (m) {
    if (m[1] === 'date') {
      let date: string;
      try {
        date = formatDate(m[2] ?? '', now);
      } catch (e) {
        if (e instanceof DateFormatError) throw new InvalidInputError(`automatic-version-prefix: error in formatting date string (${m[2] ?? ''})`);
        throw e;
      }
      rendered = prefix.slice(0, m.index) + date + prefix.slice(m.index + m[0].length);
      dateTag = true;
    }
    // an unknown tag is left in place (rpm-ostree prints "ignoring unknown tag")
  }
  return incrementVersion(suffix, lastVersion || undefined, rendered, dateTag ? '0' : null);
}

/** The build date: SOURCE_DATE_EPOCH when set (reproducible builds), else now. */
export function buildDate(env: NodeJS.ProcessEnv = process.env, now: () => Date = () => new Date()): Date {
  const sde = env.SOURCE_DATE_EPOCH;
  if (sde === undefined || sde === '') return now();
  if (!/^\d+$/.test(sde)) throw new InvalidInputError(`SOURCE_DATE_EPOCH: expected a number of seconds, got '${sde}'`);
  return new Date(Number(sde) * 1000);
}

/** A version usable as a build ID: it names a directory under builds/. */
export function validateBuildId(id: string, what = 'version'): string {
  if (id === '' || id === '.' || id === '..' || id === 'latest' || /[/\0\n]/.test(id) || id.startsWith('.') || Buffer.byteLength(id) > 255) {
    throw new InvalidInputError(`${what}: '${id}' cannot be used as a build ID (it names a directory under builds/)`);
  }
  return id;
}

export interface ChooseVersionOptions {
  /** `--version`: used as is. */
  override?: string;
  /** Treefile `automatic-version-prefix`. */
  prefix?: string;
  /** Treefile `automatic-version-suffix` (one character, default '.'). */
  suffix?: string;
  /** Treefile `releasever`, for the default prefix. */
  releasever?: string | number;
  /** The previous build's version (rpm-ostree: the version of the commit the ref points at). */
  previous?: string;
  /** Every build ID already in builds/ for this arch: the result never collides with one. */
  existing?: Iterable<string>;
  now?: Date;
}

/**
 * Without `automatic-version-prefix` and `--version`, cosa's dev scheme (what versionary --dev
 * and FCOS's 2020 prefix yield): `${releasever}.<date:%Y%m%d>.dev.N`, or `<date:%Y%m%d>.dev.N`.
 */
export function defaultVersionPrefix(releasever?: string | number): string {
  return releasever !== undefined && String(releasever) !== '' ? `${releasever}.<date:%Y%m%d>.dev` : '<date:%Y%m%d>.dev';
}

/**
 * The version (= build ID) of the next build. rpm-ostree increments from the previous version
 * only; a build ID that already exists (e.g. the previous build was on another prefix, or
 * builds were pruned and re-made) is bumped again until it is free.
 */
export function chooseVersion(o: ChooseVersionOptions): string {
  if (o.override !== undefined) return validateBuildId(o.override, '--version');
  const prefix = o.prefix ?? defaultVersionPrefix(o.releasever);
  const opts = { ...(o.suffix !== undefined ? { suffix: o.suffix } : {}), now: o.now ?? new Date() };
  const taken = new Set(o.existing ?? []);
  let v = nextVersion(prefix, o.previous, opts);
  for (let guard = 0; taken.has(v); guard++) {
    if (guard > 100000) throw new InvalidInputError(`automatic-version-prefix: cannot find a free version after ${v}`);
    const again = nextVersion(prefix, v, opts);
    if (again === v) break;
    v = again;
  }
  return validateBuildId(v);
}
