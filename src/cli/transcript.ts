/**
 * `ipc-sentry host-channel [FILE]`, the default command: runs a scenario
 * (examples/host-channel.scn unless FILE is given) on the emulator and prints
 * it as a terminal session would read, statement by statement: the file's
 * comments as narration, each statement after a prompt naming who runs it,
 * then its outcome. Commands (isula, dd) print their stderr lines verbatim,
 * so dd's lines appear exactly as coreutils prints them.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as E from 'fp-ts/lib/Either.js';
import type { Program, Statement } from '../scenario/parse/ast.js';
import { isHostSide } from '../scenario/parse/table.js';
import type { LoadOptions } from '../scenario/host.js';
import { describeLineStop, loadScenarioSource, tryOnEmulator } from '../scenario/host.js';
import type { OutputLine, Printed } from '../scenario/result/normalize.js';
import { lexLine } from '../scenario/parse/lexer.js';
import { formatParseError } from '../scenario/parse/parse.js';

/** The scenario `npm start` runs. */
function defaultChannelScenario(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i += 1) {
    const candidate = join(dir, 'examples', 'host-channel.scn');
    try {
      readFileSync(candidate);
      return candidate;
    } catch {
      dir = dirname(dir);
    }
  }
  return join('examples', 'host-channel.scn');
}

/** The statement's source text without its comment and expectation, blanks collapsed. */
function statementText(source: string): string {
  const lexed = lexLine(source);
  if (!lexed.ok) return source.trim();
  const tokens = lexed.tokens.map((t) => t.text);
  const arrow = lexed.tokens.findIndex((t) => t.str === undefined && t.text === '=>');
  return (arrow < 0 ? tokens : tokens.slice(0, arrow)).join(' ');
}

/** Who runs a statement: `host`, a process, or a process inside a container (`W@c1`). */
function prompt(program: Program, s: Statement, containers: ReadonlyMap<number, string>): { who: string; text: string } {
  if (isHostSide(s)) return { who: 'host', text: '' };
  const index = s.op === 'fork' ? s.parent : s.proc;
  if (s.op === 'proc') return { who: 'host', text: '' };
  const name = program.procNames[index] ?? '?';
  const container = containers.get(index);
  return { who: container === undefined ? name : `${name}@${container}`, text: name };
}

/** Bytes shown as a quoted string when printable, else as hex. */
function showData(hex: string): string {
  const bytes = Buffer.from(hex, 'hex');
  const text = bytes.toString('latin1');
  return /^[\x20-\x7e]*$/.test(text) ? JSON.stringify(text) : `0x${hex}`;
}

function showObject(o: Printed): string {
  if (typeof o !== 'object' || Array.isArray(o)) return String(o);
  return Object.entries(o as Record<string, Printed>)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
}

/** The outcome lines of one result. */
function outcome(line: OutputLine): string[] {
  const out: string[] = [];
  if (Array.isArray(line['stderr'])) out.push(...(line['stderr'] as string[]));
  if (line['ok'] === false || line['blocked'] === true) {
    out.push(`  -> ${String(line['errno'] ?? line['signal'] ?? 'blocked')}`);
    return out;
  }
  const parts: string[] = [];
  if (line['exit'] !== undefined) parts.push(`exit status ${String(line['exit'])}`);
  if (line['ret'] !== undefined) parts.push(`= ${String(line['ret'])}`);
  for (const key of ['statfs', 'stat', 'memcg', 'ds', 'info', 'shm_info']) {
    if (line[key] !== undefined) parts.push(showObject(line[key]));
  }
  if (line['data'] !== undefined) parts.push(showData(String(line['data'])));
  out.push(`  ${parts.length === 0 ? 'ok' : parts.join('  ')}`);
  return out;
}

/**
 * Runs the transcript; returns the exit status (1 when an expectation fails,
 * 2 on a parse error, 3 when this machine cannot back the emulator's memory).
 */
export function transcriptCommand(file: string | undefined, json: boolean, limits: LoadOptions = {}): number {
  const path = file ?? defaultChannelScenario();
  const loaded = loadScenarioSource(path, limits);
  if (E.isLeft(loaded)) {
    for (const e of loaded.left) process.stderr.write(`${formatParseError(e)}\n`);
    return 2;
  }
  const { program } = loaded.right;
  const source = loaded.right.text.replace(/^\uFEFF/, '').split('\n');
  const containers = new Map<number, string>();
  /** The next source line (0-based) not yet shown. */
  let cursor = 0;
  const narrateUpTo = (end: number): void => {
    for (; cursor < end; cursor += 1) {
      const text = source[cursor]!.trim();
      if (text.startsWith('#')) process.stdout.write(`${text}\n`);
      else if (text === '') process.stdout.write('\n');
    }
  };
  if (!json) {
    const shown = relative(process.cwd(), path) || path;
    process.stdout.write(`ipc-sentry: ${shown}, run on the emulator (isula and memory cgroups are emulated only)\n\n`);
  }
  let index = 0;
  const ran = tryOnEmulator(program, (out) => {
    const s = program.statements[index]!;
    index += 1;
    if (json) {
      process.stdout.write(`${JSON.stringify(out)}\n`);
      return;
    }
    narrateUpTo(s.line - 1);
    const raw = source[s.line - 1] ?? '';
    cursor = s.line;
    if (s.op === 'proc' && s.container !== undefined) containers.set(s.proc, s.container);
    const { who, text: procName } = prompt(program, s, containers);
    const stmt = statementText(raw.endsWith('\r') ? raw.slice(0, -1) : raw);
    const command = procName !== '' && stmt.startsWith(`${procName} `) ? stmt.slice(procName.length + 1) : stmt;
    process.stdout.write(`${who}$ ${command}\n`);
    for (const l of outcome(out)) process.stdout.write(`${l}\n`);
    if (out['expect'] !== undefined) process.stdout.write(`  !! ${String(out['expect'])}\n`);
  });
  if (E.isLeft(ran)) {
    const { text, status } = describeLineStop('emulated', path, ran.left);
    process.stderr.write(text);
    return status;
  }
  const { run } = ran.right;
  if (!json) narrateUpTo(source.length);
  const checked = program.statements.filter((s) => s.expect !== undefined).length;
  const summary =
    run.failures.length === 0
      ? `${program.statements.length} statements, ${checked} expectations, all held`
      : `${run.failures.length} of ${checked} expectations failed`;
  for (const f of run.failures) process.stderr.write(`${path}:${f.line}: expectation failed: wanted ${f.wanted}, got ${f.got}\n`);
  if (!json) process.stdout.write(`\n${summary}\n`);
  return run.failures.length === 0 ? 0 : 1;
}
