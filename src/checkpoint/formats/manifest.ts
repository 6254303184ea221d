import type { DecimalText } from '../model/decimal.js';
import { identifierProblem } from '../model/identifiers.js';
import {
  BUILT_IN_WORKFLOW,
  type ExecutionMode,
  MAX_PHASE_NUM,
  modeOfFile,
  PHASE_DIR,
  PHASES,
  type WorkflowType,
  workflowOfFile,
} from '../model/phases.js';
import { isTimestamp, parseNumberText } from '../model/values.js';
import {
  PHASE_STATUSES,
  type PhaseStatus,
  SESSION_STATUSES,
  type SessionStatus,
} from '../model/vocabulary.js';
import { formatDollars, formatSeconds, HeadReader, orMissing, parseSeconds, salvageLines } from './fields.js';
import {
  corrupt,
  heading,
  keyValueList,
  MISSING,
  parseHead,
  renderDocument,
  table,
  tableRows,
} from './markdown.js';

export interface PhaseRow {
  phase_num: number;
  name: string;
  /** The phase's folder; written (as a Folder column) for the sessions of a user's workflow only. */
  dir?: string;
  status: PhaseStatus;
  started?: string;
  completed?: string;
  duration?: number;
}

export interface ManifestRecord {
  session_id: string;
  project_id: string;
  user_id: string;
  workflow_type: WorkflowType;
  /** The revision of a user's workflow the session began with; absent for the built-in one. */
  workflow_revision?: number;
  execution_mode: ExecutionMode;
  created: string;
  last_updated: string;
  status: SessionStatus;
  revision: number;
  phases: PhaseRow[];
  current_phase: { phase: number; name: string; status: PhaseStatus; can_resume: boolean };
  metrics: { total_duration: number; total_tokens: number; total_cost: DecimalText };
}

const HEADER = ['Phase', 'Name', 'Status', 'Started', 'Completed', 'Duration'];
const FOLDER_HEADER = ['Phase', 'Name', 'Folder', 'Status', 'Started', 'Completed', 'Duration'];

export function renderManifest(manifest: ManifestRecord): string {
  const { current_phase: current, metrics } = manifest;
  const withFolders = manifest.workflow_type !== BUILT_IN_WORKFLOW;
  return renderDocument([
    heading(1, 'Session Manifest'),
    heading(2, 'Metadata'),
    keyValueList([
      ['Session ID', manifest.session_id],
      ['Project ID', manifest.project_id],
      ['User ID', manifest.user_id],
      ['Workflow Type', manifest.workflow_type],
      ...(manifest.workflow_revision === undefined
        ? []
        : [['Workflow Revision', String(manifest.workflow_revision)] as const]),
      ['Execution Mode', manifest.execution_mode],
      ['Created', manifest.created],
      ['Last Updated', manifest.last_updated],
      ['Status', manifest.status],
      ['Revision', String(manifest.revision)],
    ]),
    heading(2, 'Phase Status'),
    // A user's workflow may change later: the session keeps the folders it began with, in its own table.
    table(
      withFolders ? FOLDER_HEADER : HEADER,
      manifest.phases.map((row) => [
        String(row.phase_num),
        row.name,
        ...(withFolders ? [row.dir ?? MISSING] : []),
        row.status,
        orMissing(row.started),
        orMissing(row.completed),
        formatSeconds(row.duration),
      ]),
    ),
    heading(2, 'Current Phase'),
    keyValueList([
      ['Phase', String(current.phase)],
      ['Name', current.name],
      ['Status', current.status],
      ['Can Resume', String(current.can_resume)],
    ]),
    heading(2, 'Metrics'),
    keyValueList([
      ['Total Duration', formatSeconds(metrics.total_duration)],
      ['Total Tokens', String(metrics.total_tokens)],
      ['Total Cost', formatDollars(metrics.total_cost)],
    ]),
  ]);
}

export function parseManifest(text: string, file: string): ManifestRecord {
  const reader = new HeadReader(file, parseHead(text));
  const metadata = reader.fields('Metadata');
  const current = reader.fields('Current Phase');
  const metrics = reader.fields('Metrics');
  const phase = current.integer('Phase');
  if (phase > MAX_PHASE_NUM)
    throw current.bad(current.field('Phase'), `a phase number from 0 to ${MAX_PHASE_NUM}`);
  const workflowType = workflowOfFile(metadata.identifier('Workflow Type'));
  const workflowRevision = metadata.optionalInteger('Workflow Revision');
  return {
    session_id: metadata.string('Session ID'),
    project_id: metadata.string('Project ID'),
    user_id: metadata.string('User ID'),
    workflow_type: workflowType,
    ...(workflowRevision === undefined ? {} : { workflow_revision: workflowRevision }),
    execution_mode: modeOfFile(workflowType, metadata.identifier('Execution Mode')),
    created: metadata.timestamp('Created'),
    last_updated: metadata.timestamp('Last Updated'),
    status: metadata.oneOf('Status', SESSION_STATUSES),
    revision: metadata.integer('Revision'),
    phases: parsePhaseTable(reader, file, workflowType === BUILT_IN_WORKFLOW),
    current_phase: {
      phase,
      name: current.string('Name'),
      status: current.oneOf('Status', PHASE_STATUSES),
      can_resume: current.boolean('Can Resume'),
    },
    metrics: {
      total_duration: metrics.seconds('Total Duration'),
      total_tokens: metrics.integer('Total Tokens'),
      total_cost: metrics.dollars('Total Cost'),
    },
  };
}

function parsePhaseTable(reader: HeadReader, file: string, builtIn: boolean): PhaseRow[] {
  const section = reader.section('Phase Status');
  const rows = tableRows(section);
  if (!rows || rows.length === 0) throw corrupt(file, section.line, 'section "## Phase Status" has no table');
  const [header, ...body] = rows;
  const columns = HEADER.map((name) =>
    header?.cells.findIndex((cell) => cell.toLowerCase() === name.toLowerCase()),
  );
  columns.forEach((index, i) => {
    if (index === undefined || index < 0)
      throw corrupt(file, header?.line ?? section.line, `phase table has no "${HEADER[i]}" column`);
  });
  const [num, name, status, started, completed, duration] = columns as number[];
  const folder = header?.cells.findIndex((cell) => cell.toLowerCase() === 'folder') ?? -1;
  return body.map(({ cells, line }) => {
    const cell = (index: number | undefined) => cells[index ?? -1] ?? '';
    const phaseNum = parseNumberText(cell(num));
    const builtInPhase = PHASES.find((phase) => phase.num === phaseNum);
    if (
      phaseNum === undefined ||
      !Number.isSafeInteger(phaseNum) ||
      phaseNum < 1 ||
      phaseNum > MAX_PHASE_NUM ||
      (builtIn && !builtInPhase)
    ) {
      throw corrupt(
        file,
        line,
        `phase number ${JSON.stringify(cell(num))} is not ${builtIn ? '1 to 7' : `1 to ${MAX_PHASE_NUM}`}`,
      );
    }
    const statusText = cell(status).toLowerCase() as PhaseStatus;
    if (!PHASE_STATUSES.includes(statusText)) {
      throw corrupt(
        file,
        line,
        `phase status ${JSON.stringify(cell(status))} is not one of ${PHASE_STATUSES.join(', ')}`,
      );
    }
    const dir = folder >= 0 && cell(folder) !== MISSING && cell(folder) !== '' ? cell(folder) : undefined;
    if (dir !== undefined && PHASE_DIR.exec(dir)?.[1] !== String(phaseNum))
      throw corrupt(file, line, `folder ${JSON.stringify(dir)} is not phase_${phaseNum}_{slug}`);
    if (dir === undefined && !builtIn)
      throw corrupt(
        file,
        line,
        `phase ${phaseNum} has no Folder; a session of a user's workflow keeps its folders here`,
      );
    const row: PhaseRow = {
      phase_num: phaseNum,
      name: cell(name) || builtInPhase?.name || `Phase ${phaseNum}`,
      ...(dir === undefined ? {} : { dir }),
      status: statusText,
    };
    const startedText = optionalCell(cell(started), file, line, 'Started');
    const completedText = optionalCell(cell(completed), file, line, 'Completed');
    if (startedText !== undefined) row.started = startedText;
    if (completedText !== undefined) row.completed = completedText;
    const durationText = cell(duration);
    if (durationText !== '' && durationText !== MISSING) {
      const seconds = parseSeconds(durationText);
      if (seconds === undefined)
        throw corrupt(file, line, `duration ${JSON.stringify(durationText)} is not seconds such as 120.5s`);
      row.duration = seconds;
    }
    return row;
  });
}

function optionalCell(text: string, file: string, line: number, column: string): string | undefined {
  if (text === '' || text === MISSING) return undefined;
  if (!isTimestamp(text))
    throw corrupt(file, line, `${column} ${JSON.stringify(text)} is not an RFC 3339 timestamp`);
  return text;
}

/** What salvageManifest could still read of a manifest that does not parse: each field only if it is sound. */
export interface SalvagedManifest {
  session_id?: string;
  user_id?: string;
  created?: string;
  workflow_type?: WorkflowType;
  workflow_revision?: number;
  execution_mode?: ExecutionMode;
  /** The phase table, when every row names a phase 1-99 and its folder (the built-in one's by number). */
  phases?: Array<{ num: number; name: string; dir: string }>;
}

/**
 * The identity fields and phase table of a manifest that parseManifest refused (a field mistyped by
 * hand), read line by line without the markdown parser: a rebuild then keeps who the session belongs
 * to, its workflow, mode and phases, instead of guessing them from the project. A field that is not
 * sound on its own is left out.
 */
export function salvageManifest(text: string): SalvagedManifest {
  const { lines, field } = salvageLines(text);
  const salvaged: SalvagedManifest = {};
  const sound = (value: string | undefined): value is string =>
    value !== undefined && identifierProblem(value) === undefined;
  const sessionId = field('Session ID');
  if (sound(sessionId)) salvaged.session_id = sessionId;
  const userId = field('User ID');
  if (sound(userId)) salvaged.user_id = userId;
  const created = field('Created');
  if (created !== undefined && isTimestamp(created)) salvaged.created = created;
  const workflowType = field('Workflow Type');
  if (sound(workflowType)) salvaged.workflow_type = workflowOfFile(workflowType);
  const revision = field('Workflow Revision');
  if (revision !== undefined && /^[1-9]\d{0,8}$/.test(revision))
    salvaged.workflow_revision = Number(revision);
  const mode = field('Execution Mode');
  if (sound(mode) && salvaged.workflow_type !== undefined)
    salvaged.execution_mode = modeOfFile(salvaged.workflow_type, mode);
  const phases = salvagePhaseTable(lines, salvaged.workflow_type === BUILT_IN_WORKFLOW);
  if (phases !== undefined) salvaged.phases = phases;
  return salvaged;
}

function salvagePhaseTable(
  lines: readonly string[],
  builtIn: boolean,
): SalvagedManifest['phases'] | undefined {
  const start = lines.findIndex((line) => /^\s*##\s+phase status\s*$/i.test(line));
  if (start < 0) return undefined;
  const rows: string[][] = [];
  for (const line of lines.slice(start + 1)) {
    if (/^\s*#/.test(line)) break;
    const trimmed = line.trim();
    if (!trimmed.startsWith('|')) continue;
    rows.push(
      trimmed
        .replace(/^\|/, '')
        .replace(/\|$/, '')
        .split(/(?<!\\)\|/)
        // CommonMark's backslash escapes of ASCII punctuation, as the renderer writes them in a name.
        .map((cell) => cell.trim().replace(/\\([!-/:-@[-`{-~])/g, '$1')),
    );
  }
  const [header, rule, ...body] = rows;
  if (header === undefined || rule === undefined || body.length === 0) return undefined;
  const column = (name: string) => header.findIndex((cell) => cell.toLowerCase() === name);
  const [num, name, folder] = [column('phase'), column('name'), column('folder')];
  if (num < 0 || name < 0) return undefined;
  const phases: Array<{ num: number; name: string; dir: string }> = [];
  for (const cells of body) {
    const phaseNum = parseNumberText(cells[num] ?? '');
    if (phaseNum === undefined || !Number.isSafeInteger(phaseNum) || phaseNum < 1 || phaseNum > MAX_PHASE_NUM)
      return undefined;
    const dir = builtIn ? PHASES.find((phase) => phase.num === phaseNum)?.dir : cells[folder];
    if (dir === undefined || PHASE_DIR.exec(dir)?.[1] !== String(phaseNum)) return undefined;
    if (phases.some((phase) => phase.num === phaseNum)) return undefined;
    const text = cells[name] ?? '';
    phases.push({ num: phaseNum, name: text === '' || text === MISSING ? `Phase ${phaseNum}` : text, dir });
  }
  return phases;
}
