import pg from 'pg';

/** The channel every write notifies on; LISTEN below names it as a literal, never built from a value. */
export const CHANGES_CHANNEL = 'checkpoint_changes';

/**
 * Document changes from every replica: each write sends NOTIFY in its transaction (delivered on
 * commit) with `[schema, path]` as payload, and one LISTEN connection per process hands them to the
 * watchers of that path. The channel is one per database: the schema keeps stores in different
 * schemas of one database (search_path in the URL) from hearing each other. A lost connection is
 * made again; while it is down, nothing is heard.
 */
export class ChangeListener {
  private readonly listeners = new Map<string, Set<() => void>>();
  private client: pg.Client | undefined;
  /** The schema this store's documents live in, as the writers' current_schema() names it. */
  private schema: string | undefined;
  private connecting: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly onWarning: (message: string) => void,
  ) {}

  async watch(path: string, onChange: () => void): Promise<() => void> {
    await this.connect();
    const set = this.listeners.get(path) ?? new Set();
    this.listeners.set(path, set);
    set.add(onChange);
    return () => {
      set.delete(onChange);
      if (set.size === 0) this.listeners.delete(path);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private connect(): Promise<void> {
    if (this.client || this.closed) return Promise.resolve();
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async open(): Promise<void> {
    const client = new pg.Client(this.config);
    client.on('notification', (message) => {
      if (message.channel !== CHANGES_CHANNEL || message.payload === undefined) return;
      const path = this.pathOf(message.payload);
      if (path === undefined) return;
      for (const listener of this.listeners.get(path) ?? []) listener();
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      this.schema = (await client.query('SELECT current_schema() AS schema')).rows[0]?.schema as string;
      await client.query('LISTEN checkpoint_changes');
    } catch (error) {
      // A statement past its query_timeout leaves the socket open: end() closes it.
      void client.end().catch(() => undefined);
      throw error;
    }
    this.client = client;
  }

  /** The path a payload names when it is a change in this store's schema, else undefined. */
  private pathOf(payload: string): string | undefined {
    try {
      const [schema, path] = JSON.parse(payload) as unknown[];
      return schema === this.schema && typeof path === 'string' ? path : undefined;
    } catch {
      // Not one of ours: another program may NOTIFY on the channel too.
      return undefined;
    }
  }

  private lost(client: pg.Client, error?: Error): void {
    if (this.client !== client) return;
    this.client = undefined;
    if (this.closed) return;
    this.onWarning(`change notifications lost (${error?.message ?? 'connection ended'}); reconnecting`);
    const retry = (delay: number) => {
      setTimeout(() => {
        if (this.closed || this.client || this.listeners.size === 0) return;
        this.connect().catch(() => retry(Math.min(delay * 2, 5_000)));
      }, delay).unref();
    };
    retry(200);
  }
}
