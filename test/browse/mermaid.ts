import { JSDOM } from 'jsdom';
import type { Mermaid } from 'mermaid';

export interface GanttTask {
  id: string;
  task: string;
  startTime: Date;
  endTime: Date;
  done?: boolean;
  active?: boolean;
  crit?: boolean;
}

let loading: Promise<Mermaid> | undefined;

/**
 * The real mermaid, under a jsdom window. mermaid sanitises titles with DOMPurify, which binds to the
 * global window when it is first imported: the window has to exist before mermaid is imported.
 */
export function loadMermaid(): Promise<Mermaid> {
  loading ??= (async () => {
    const dom = new JSDOM('<!doctype html><html><body></body></html>', { pretendToBeVisual: true });
    Object.assign(globalThis, { window: dom.window, document: dom.window.document });
    const { default: mermaid } = await import('mermaid');
    mermaid.initialize({ startOnLoad: false });
    return mermaid;
  })();
  return loading;
}

/** The tasks of a gantt as mermaid's own gantt database computes them (dates parsed by its dateFormat). */
export async function ganttTasks(text: string): Promise<GanttTask[]> {
  const mermaid = await loadMermaid();
  // parse registers the diagram types (lazily, on first use) and throws on a syntax error.
  await mermaid.parse(text);
  const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
  const db = diagram.db as { getTasks?: () => GanttTask[] };
  if (typeof db.getTasks !== 'function') throw new Error(`not a gantt: ${diagram.type}`);
  return db.getTasks();
}
