import type {
  Code,
  Heading,
  List,
  ListItem,
  Nodes,
  Paragraph,
  Root,
  RootContent,
  Table,
  TableRow,
} from 'mdast';
import { fromMarkdown } from 'mdast-util-from-markdown';
import { gfmToMarkdown } from 'mdast-util-gfm';
import { gfmTableFromMarkdown } from 'mdast-util-gfm-table';
import { toMarkdown, type Unsafe } from 'mdast-util-to-markdown';
import { toString as nodeText } from 'mdast-util-to-string';
import { gfmTable } from 'micromark-extension-gfm-table';
import { CheckpointError } from '../model/errors.js';

/** Marks a missing value in every file. */
export const MISSING = '-';

export function heading(depth: 1 | 2 | 3, text: string): Heading {
  return { type: 'heading', depth, children: [{ type: 'text', value: text }] };
}

export function keyValueList(entries: ReadonlyArray<readonly [string, string]>): List {
  return bulletList(entries.map(([key, value]) => `${key}: ${value}`));
}

export function bulletList(lines: readonly string[]): List {
  return {
    type: 'list',
    ordered: false,
    spread: false,
    children: lines.map(
      (line): ListItem => ({
        type: 'listItem',
        spread: false,
        children: [{ type: 'paragraph', children: [{ type: 'text', value: line }] }],
      }),
    ),
  };
}

export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): Table {
  const row = (cells: readonly string[]): TableRow => ({
    type: 'tableRow',
    children: cells.map((value) => ({ type: 'tableCell', children: [{ type: 'text', value }] })),
  });
  return { type: 'table', align: header.map(() => null), children: [row(header), ...rows.map(row)] };
}

export function indentedCode(value: string): Code {
  return { type: 'code', value };
}

/**
 * The head as markdown, then the verbatim section: its heading and the body, byte for byte.
 * The body is appended, never serialised, so markdown in it is neither escaped nor restyled.
 */
export function renderDocument(
  head: readonly RootContent[],
  verbatim?: { heading: string; body: string },
): string {
  const nodes = verbatim ? [...head, heading(2, verbatim.heading)] : [...head];
  const text = plainMarkdown(nodes) ?? serialize({ type: 'root', children: nodes });
  return verbatim ? `${text}\n${verbatim.body}` : text;
}

/**
 * Text the serialiser writes exactly as it is, in a heading, a tight list item or a table cell:
 * letters, digits, `. : - $ ,`, `_` between letters or digits, and single spaces between them; starting
 * with a letter, a digit or `$`, but not with digits and a dot (an ordered list's marker); no `w.` (the GFM
 * parser links `www.`). The comma is there for the lists a checkpoint writes on one line (its agents'
 * outputs, their execution times). test/checkpoint/formats/plain-markdown.test.ts holds plainMarkdown
 * to the serialiser's output over this alphabet and the characters next to it.
 */
const PLAIN_REST = '(?:[A-Za-z0-9.:$,-]|(?<=[A-Za-z0-9])_(?=[A-Za-z0-9])| (?=[A-Za-z0-9_.:$,-]))*$';
const PLAIN = new RegExp(String.raw`^(?![\s\S]*[Ww]\.)(?!\d+\.)[A-Za-z0-9$]${PLAIN_REST}`);

/** The same in a table cell, which never begins a line: it may also start with `. : -` (a missing `-`). */
const PLAIN_CELL = new RegExp(String.raw`^(?![\s\S]*[Ww]\.)[A-Za-z0-9$.:-]${PLAIN_REST}`);

/**
 * The document as the serialiser would write it, when it is only headings, tight bullet lists of
 * text and tables of plain text (the heads of every document the server writes): the same bytes
 * without the general mdast walk, the largest part of a save's CPU. A heading or list item whose text
 * is not plain is written by the serialiser on its own (each is written alike wherever it stands) and
 * remembered. Undefined for anything else, which the serialiser then writes whole.
 */
export function plainMarkdown(nodes: readonly RootContent[]): string | undefined {
  const blocks: string[] = [];
  let previous: RootContent['type'] | undefined;
  for (const node of nodes) {
    // Two lists in a row: the serialiser changes the second one's bullet, so they stay two.
    if (node.type === 'list' && previous === 'list') return undefined;
    previous = node.type;
    if (node.type === 'heading') {
      const text = textOf(node.children);
      if (text === undefined) return undefined;
      blocks.push(PLAIN.test(text) ? `${'#'.repeat(node.depth)} ${text}` : alone(node));
    } else if (node.type === 'list' && !node.ordered && !node.spread && node.children.length > 0) {
      const lines: string[] = [];
      for (const item of node.children) {
        const paragraph = item.children[0];
        if (
          item.spread ||
          item.checked != null ||
          item.children.length !== 1 ||
          paragraph?.type !== 'paragraph'
        )
          return undefined;
        const text = textOf(paragraph.children);
        if (text === undefined) return undefined;
        lines.push(PLAIN.test(text) ? `- ${text}` : alone(bulletList([text])));
      }
      blocks.push(lines.join('\n'));
    } else if (node.type === 'table') {
      const rows = plainTable(node);
      if (rows === undefined) return undefined;
      blocks.push(rows);
    } else {
      return undefined;
    }
  }
  return blocks.length > 0 ? `${blocks.join('\n\n')}\n` : undefined;
}

/** A table of plain cells, each column padded to its widest cell, as the GFM serialiser aligns them. */
function plainTable(node: Table): string | undefined {
  if (node.align?.some((align) => align !== null)) return undefined;
  const rows: string[][] = [];
  for (const row of node.children) {
    const cells: string[] = [];
    for (const cell of row.children) {
      const text = textOf(cell.children);
      if (text === undefined || !PLAIN_CELL.test(text)) return undefined;
      cells.push(text);
    }
    rows.push(cells);
  }
  const columns = rows[0]?.length ?? 0;
  if (columns === 0 || rows.some((cells) => cells.length !== columns)) return undefined;
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((cells) => cells[i]?.length ?? 0))) ?? [];
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const [head = [], ...body] = rows;
  return [line(head), line(widths.map((width) => '-'.repeat(width))), ...body.map(line)].join('\n');
}

function textOf(children: readonly Nodes[]): string | undefined {
  const [only] = children;
  return children.length === 1 && only?.type === 'text' ? only.value : undefined;
}

/** Headings and list items the serialiser wrote alone, by their text: a head repeats most of them. */
const written = new Map<string, string>();
const WRITTEN_KEPT = 1_000;

/** What the serialiser writes for one heading or one one-item list, without its last line break. */
function alone(node: Heading | List): string {
  const key = `${node.type === 'heading' ? `h${node.depth}` : 'li'}\u0000${nodeText(node)}`;
  let text = written.get(key);
  if (text === undefined) {
    text = serializeNodes([node]).replace(/\n$/, '');
    // Long texts (an error message) are rarely repeated: they are written, not kept.
    if (key.length > 256) return text;
    if (written.size >= WRITTEN_KEPT) written.clear();
    written.set(key, text);
  }
  return text;
}

/** What the serialiser writes for `nodes`, always through mdast (plainMarkdown's reference). */
export function serializeNodes(nodes: readonly RootContent[]): string {
  return serialize({ type: 'root', children: [...nodes] });
}

// One instance for every call: the serializer compiles each unsafe pattern once and keeps it on the pattern.
const GFM_TO_MARKDOWN = gfmToMarkdown();

/**
 * Heads are read with GFM tables only. The other GFM constructs (autolinks, strikethrough, task items,
 * footnotes) never carry structure in these files, and the renderer escapes them, so a value reads
 * back the same without them; leaving them out makes each parse several times faster.
 */
const PARSE_OPTIONS = { extensions: [gfmTable()], mdastExtensions: [gfmTableFromMarkdown()] };

function serialize(root: Root): string {
  return toMarkdown(root, {
    bullet: '-',
    fences: false,
    listItemIndent: 'one',
    rule: '-',
    extensions: [GFM_TO_MARKDOWN],
    unsafe: UNSAFE,
  });
}

// Escapes the serialiser leaves out, each of which let a value come back changed: `<` can open an
// email autolink such as `<#@b.c>`, and the GFM parser links `www.` before any character and
// `HTTP://` in any letter case, reading a backslash escape right after them as part of the link.
const UNSAFE: Unsafe[] = [
  inText({ character: '<' }),
  inText({ character: '.', before: '[Ww]' }),
  inText({ character: ':', before: '[PSps]', after: '\\/' }),
];

function inText(pattern: Unsafe): Unsafe {
  return { ...pattern, inConstruct: 'phrasing', notInConstruct: ['autolink', 'link', 'image', 'label'] };
}

/** A file cut at its verbatim heading: `head` is parsed, `body` never is. */
export interface SplitDocument {
  head: string;
  body: string | undefined;
}

/**
 * Splits at the first line that is exactly `## {heading}` (a trailing CR is tolerated). The one
 * blank line the renderer writes after that heading is not part of the body.
 */
export function splitVerbatim(text: string, verbatimHeading: string): SplitDocument {
  const marker = `## ${verbatimHeading}`;
  let start = 0;
  while (start <= text.length) {
    const found = text.indexOf(marker, start);
    if (found === -1) break;
    const atLineStart = found === 0 || text[found - 1] === '\n';
    let end = found + marker.length;
    if (text[end] === '\r') end++;
    const atLineEnd = end === text.length || text[end] === '\n';
    if (atLineStart && atLineEnd) {
      let bodyStart = Math.min(end + 1, text.length);
      if (text.startsWith('\r\n', bodyStart)) bodyStart += 2;
      else if (text[bodyStart] === '\n') bodyStart += 1;
      return { head: text.slice(0, found), body: text.slice(bodyStart) };
    }
    start = found + 1;
  }
  return { head: text, body: undefined };
}

/**
 * CORRUPT_FILE for a document with no line that is exactly `## {heading}`: at the line that comes near
 * (a heading of that text with other spacing, letter case or depth), which is then what to fix.
 */
export function missingVerbatim(file: string, text: string, verbatimHeading: string): CheckpointError {
  const wanted = normalizeKey(verbatimHeading);
  const lines = text.split('\n');
  const near = lines.findIndex(
    (line) => /^\s{0,3}#/.test(line) && normalizeKey(line.replace(/^\s*#+/, '')) === wanted,
  );
  if (near === -1) return corrupt(file, 1, `missing section "## ${verbatimHeading}"`);
  return corrupt(
    file,
    near + 1,
    `${JSON.stringify((lines[near] as string).replace(/\r$/, ''))} must be exactly "## ${verbatimHeading}" (no other spaces, letter case or #): the verbatim text begins after that line`,
  );
}

export interface Section {
  title: string;
  line: number;
  /** The markdown parser's blocks of the section; none where `plain` holds it. */
  nodes: RootContent[];
  /** The section as canonicalSections read it: its list items in order and its first table's rows. */
  plain?: { items: Item[]; rows: Row[] | undefined };
}

export interface ParsedHead {
  title: string | undefined;
  sections: Map<string, Section>;
}

/** Parses a file's head into its `##` sections, keyed by lower-case title. */
export function parseHead(head: string): ParsedHead {
  return canonicalSections(head) ?? sectionsOf(fromMarkdown(head, PARSE_OPTIONS).children);
}

/** parseHead through the markdown parser always (canonicalSections' reference). */
export function parseHeadThroughMdast(head: string): ParsedHead {
  return sectionsOf(fromMarkdown(head, PARSE_OPTIONS).children);
}

function sectionsOf(blocks: readonly RootContent[]): ParsedHead {
  const sections = new Map<string, Section>();
  let title: string | undefined;
  let current: Section | undefined;
  for (const node of blocks) {
    if (node.type === 'heading' && node.depth === 1 && title === undefined && current === undefined) {
      title = nodeText(node).trim();
    } else if (node.type === 'heading' && node.depth === 2) {
      const sectionTitle = nodeText(node).trim();
      current = { title: sectionTitle, line: lineOf(node), nodes: [] };
      const key = normalizeKey(sectionTitle);
      if (!sections.has(key)) sections.set(key, current);
    } else if (current) {
      current.nodes.push(node);
    }
  }
  return { title, sections };
}

const TABLE_DELIMITER = /^-+$/;

/**
 * The sections of a head in exactly the form plainMarkdown writes (headings, tight lists and tables of
 * plain text, one blank line between blocks), as sectionsOf makes them of the markdown parser's
 * blocks, without the parser and without its nodes: each section's list items and first table as the
 * readers take them. The parser costs milliseconds per file, and both a save under contention and the
 * first call of a fresh process read what others wrote. Undefined for anything else (a hand edit, an
 * escape, a code block), which the parser then reads. test/checkpoint/formats/plain-markdown.test.ts
 * holds the two to the same title, sections, items, rows and code.
 */
export function canonicalSections(head: string): ParsedHead | undefined {
  if (head.includes('\r')) return undefined;
  const lines = head.split('\n');
  while (lines.length > 0 && lines.at(-1) === '') lines.pop();
  const sections = new Map<string, Section>();
  let title: string | undefined;
  let current: Section | undefined;
  let blocks = 0;
  let afterList = false;
  let i = 0;
  while (i < lines.length) {
    const start = i;
    while (i < lines.length && lines[i] !== '') i++;
    const first = lines[start] ?? '';
    const line = start + 1;
    if (first.startsWith('#')) {
      const match = /^(#{1,3}) (.*)$/.exec(first);
      const text = match?.[2];
      if (i - start !== 1 || match === null || text === undefined || !PLAIN.test(text)) return undefined;
      const depth = (match[1] as string).length;
      if (depth === 1 && title === undefined && current === undefined) {
        title = text.trim();
      } else if (depth === 2) {
        // As sectionsOf: the first section of a title keeps it; a later one of the same title still
        // takes what follows it.
        current = { title: text.trim(), line, nodes: [], plain: { items: [], rows: undefined } };
        const key = normalizeKey(current.title);
        if (!sections.has(key)) sections.set(key, current);
      }
      afterList = false;
    } else if (first.startsWith('- ')) {
      // Two lists in a row are written apart by a bullet of another kind, never as two "-" lists.
      if (afterList) return undefined;
      for (let index = start; index < i; index++) {
        const item = lines[index] as string;
        const value = item.slice(2);
        if (!item.startsWith('- ') || !PLAIN.test(value)) return undefined;
        current?.plain?.items.push({ text: value.trim(), line: index + 1 });
      }
      afterList = true;
    } else if (first.startsWith('| ')) {
      const rows = plainTableRows(lines, start, i);
      if (rows === undefined) return undefined;
      if (current?.plain !== undefined && current.plain.rows === undefined) current.plain.rows = rows;
      afterList = false;
    } else {
      return undefined;
    }
    blocks++;
    // Exactly one blank line between blocks.
    if (i < lines.length) {
      i++;
      if (lines[i] === '') return undefined;
    }
  }
  return blocks > 0 ? { title, sections } : undefined;
}

/** The rows of a plain table on lines [start, end) (the delimiter row left out), or undefined. */
function plainTableRows(lines: readonly string[], start: number, end: number): Row[] | undefined {
  const cellsOf = (index: number): string[] | undefined => {
    const line = lines[index] as string;
    return line.startsWith('| ') && line.endsWith(' |') ? line.slice(2, -2).split(' | ') : undefined;
  };
  const header = cellsOf(start);
  const delimiter = start + 1 < end ? cellsOf(start + 1) : undefined;
  if (header === undefined || delimiter === undefined) return undefined;
  const columns = header.length;
  if (delimiter.length !== columns || !delimiter.every((cell) => TABLE_DELIMITER.test(cell)))
    return undefined;
  const rows: Row[] = [];
  for (let index = start; index < end; index++) {
    if (index === start + 1) continue;
    const cells = index === start ? header : cellsOf(index);
    if (cells === undefined || cells.length !== columns) return undefined;
    const texts: string[] = [];
    for (const cell of cells) {
      const value = cell.trimEnd();
      if (!PLAIN_CELL.test(value)) return undefined;
      texts.push(value.trim());
    }
    rows.push({ cells: texts, line: index + 1 });
  }
  return rows;
}

export function normalizeKey(key: string): string {
  return key.trim().replace(/\s+/g, ' ').toLowerCase();
}

export function lineOf(node: Nodes): number {
  return node.position?.start.line ?? 1;
}

export interface Item {
  text: string;
  line: number;
}

/** A table row: its cells' text, trimmed. */
export interface Row {
  cells: string[];
  line: number;
}

/** The text of every list item in a section, in order. */
export function listItems(section: Section): Item[] {
  if (section.plain !== undefined) return section.plain.items;
  const items: Item[] = [];
  for (const node of section.nodes) if (node.type === 'list') collectItems(node, items);
  return items;
}

/**
 * listItems, and each line of a paragraph as one more item, in file order: a list a person typed as
 * plain lines (no bullets) is read as the list it means.
 */
export function itemsOrLines(section: Section): Item[] {
  if (section.plain !== undefined) return section.plain.items;
  const items: Item[] = [];
  for (const node of section.nodes) {
    if (node.type === 'list') collectItems(node, items);
    else if (node.type === 'paragraph') {
      const line = lineOf(node);
      for (const [i, text] of nodeText(node).split('\n').entries())
        if (text.trim() !== '') items.push({ text: text.trim(), line: line + i });
    }
  }
  return items;
}

/** An item indented by hand becomes a list nested in the item above it: it still counts, in file order. */
function collectItems(list: List, items: Item[]): void {
  for (const item of list.children) {
    const paragraph = item.children.find((child): child is Paragraph => child.type === 'paragraph');
    items.push({ text: paragraph ? nodeText(paragraph).trim() : '', line: lineOf(item) });
    for (const child of item.children) if (child.type === 'list') collectItems(child, items);
  }
}

export interface Field {
  key: string;
  value: string;
  line: number;
}

/** `Key: value` items of a section, keyed by normalised key; the first of a repeated key wins. */
export function keyValues(section: Section): Map<string, Field> {
  const fields = new Map<string, Field>();
  for (const item of listItems(section)) {
    const colon = item.text.indexOf(':');
    if (colon <= 0) continue;
    const key = item.text.slice(0, colon).trim();
    const normalized = normalizeKey(key);
    if (!fields.has(normalized)) {
      fields.set(normalized, { key, value: item.text.slice(colon + 1).trim(), line: item.line });
    }
  }
  return fields;
}

export function tableRows(section: Section): Row[] | undefined {
  if (section.plain !== undefined) return section.plain.rows;
  const found = section.nodes.find((node): node is Table => node.type === 'table');
  if (!found) return undefined;
  return found.children.map((row) => ({
    cells: row.children.map((cell) => nodeText(cell).trim()),
    line: lineOf(row),
  }));
}

export function codeBlock(section: Section): string | undefined {
  // A plain head holds no code block.
  const found = section.nodes.find((node): node is Code => node.type === 'code');
  return found?.value;
}

export function corrupt(file: string, line: number, problem: string): CheckpointError {
  return new CheckpointError(
    'CORRUPT_FILE',
    `${file}:${line}: ${problem}; fix the file by hand${restoring(file)}`,
  );
}

/** The way back for a document besides fixing it: the manifest is rebuilt, project.md keeps no versions. */
function restoring(file: string): string {
  if (file.endsWith('session_manifest.md'))
    return ', or delete it: load_session rebuilds it from the phase checkpoints';
  if (file.endsWith('project.md')) return ' (project.md keeps no earlier versions)';
  return ", or restore an earlier version from the phase's history/ folder (list_history lists them)";
}
