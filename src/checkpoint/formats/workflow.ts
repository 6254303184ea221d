import { MAX_PHASE_NUM } from '../model/phases.js';
import { parseNumberText } from '../model/values.js';
import type { WorkflowDefinition, WorkflowMode, WorkflowPhase } from '../model/workflows.js';
import { HeadReader } from './fields.js';
import {
  corrupt,
  heading,
  keyValueList,
  parseHead,
  type Row,
  renderDocument,
  table,
  tableRows,
} from './markdown.js';

const PHASE_HEADER = ['Phase', 'Name', 'Folder'];
const MODE_HEADER = ['Mode', 'Phases'];

/** `workflows/{workflow_type}.md`: metadata, the phase table and the mode table. */
export function renderWorkflow(workflow: WorkflowDefinition): string {
  return renderDocument([
    heading(1, `Workflow: ${workflow.title}`),
    heading(2, 'Metadata'),
    keyValueList([
      ['Workflow Type', workflow.workflow_type],
      ['Title', workflow.title],
      ['Default Mode', workflow.default_mode],
      ['Revision', String(workflow.revision)],
    ]),
    heading(2, 'Phases'),
    table(
      PHASE_HEADER,
      workflow.phases.map((phase) => [String(phase.num), phase.name, phase.folder]),
    ),
    heading(2, 'Modes'),
    table(
      MODE_HEADER,
      workflow.modes.map((mode) => [mode.name, mode.phases.join(', ')]),
    ),
  ]);
}

/**
 * Reads a workflow document, hand-edited or not: columns by header name in any order, bullets and key
 * case as a person writes them. What cannot be understood is CORRUPT_FILE at its line; whether the
 * definition holds together (unique numbers, modes naming phases) is checked by the caller.
 */
export function parseWorkflow(text: string, file: string): WorkflowDefinition {
  const reader = new HeadReader(file, parseHead(text));
  const metadata = reader.fields('Metadata');
  return {
    workflow_type: metadata.identifier('Workflow Type'),
    title: metadata.string('Title'),
    default_mode: metadata.identifier('Default Mode'),
    revision: metadata.integer('Revision'),
    phases: rowsOf(reader, 'Phases', PHASE_HEADER, file).map(({ cells, line }): WorkflowPhase => {
      const [num, name, folder] = cells;
      const parsed = parseNumberText(num ?? '');
      if (parsed === undefined || !Number.isSafeInteger(parsed) || parsed < 1 || parsed > MAX_PHASE_NUM)
        throw corrupt(file, line, `phase number ${JSON.stringify(num)} is not 1 to ${MAX_PHASE_NUM}`);
      if (!name) throw corrupt(file, line, `phase ${parsed} has no name`);
      if (!folder) throw corrupt(file, line, `phase ${parsed} has no folder`);
      return { num: parsed, name, folder };
    }),
    modes: rowsOf(reader, 'Modes', MODE_HEADER, file).map(({ cells, line }): WorkflowMode => {
      const [name, phases] = cells;
      if (!name) throw corrupt(file, line, 'a mode has no name');
      const nums = (phases ?? '')
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part !== '')
        .map((part) => {
          const value = parseNumberText(part);
          if (value === undefined || !Number.isSafeInteger(value))
            throw corrupt(file, line, `mode ${name} lists ${JSON.stringify(part)}, which is no phase number`);
          return value;
        });
      return { name, phases: nums };
    }),
  };
}

/** The table of a section with the wanted columns found by name; each row's cells in that order. */
function rowsOf(reader: HeadReader, title: string, wanted: readonly string[], file: string): Row[] {
  const section = reader.section(title);
  const rows = tableRows(section);
  if (!rows || rows.length === 0) throw corrupt(file, section.line, `section "## ${title}" has no table`);
  const [header, ...body] = rows;
  const columns = wanted.map(
    (name) => header?.cells.findIndex((cell) => cell.toLowerCase() === name.toLowerCase()) ?? -1,
  );
  const missing = columns.findIndex((index) => index < 0);
  if (missing >= 0)
    throw corrupt(
      file,
      header?.line ?? section.line,
      `the ${title.toLowerCase()} table has no "${wanted[missing]}" column`,
    );
  return body.map(({ cells, line }) => ({ cells: columns.map((index) => cells[index] ?? ''), line }));
}
