import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { OPTIONS } from '../src/options.js';
import { TOOL_SETS } from '../src/tools/catalog.js';
import { type ExternalPackage, externalTool } from './helpers/external-tools.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LONG = 180_000;

/** The MCPB CLI (github.com/anthropics/mcpb): its validate and unpack are the reference for bundles. */
const MCPB: ExternalPackage = {
  spec: '@anthropic-ai/mcpb@2.1.2',
  entry: 'node_modules/@anthropic-ai/mcpb/dist/cli/cli.js',
};

const PackageJson = z.object({
  name: z.string(),
  version: z.string(),
  description: z.string(),
  mcpName: z.string(),
  engines: z.object({ node: z.string() }),
  scripts: z.record(z.string(), z.string()),
});

const Manifest = z.object({
  manifest_version: z.string(),
  name: z.string(),
  version: z.string(),
  description: z.string(),
  icon: z.string(),
  server: z.object({
    type: z.literal('node'),
    entry_point: z.string(),
    mcp_config: z.object({
      command: z.string(),
      args: z.array(z.string()),
      env: z.record(z.string(), z.string()),
    }),
  }),
  tools: z.array(z.object({ name: z.string(), description: z.string() })),
  compatibility: z.object({ runtimes: z.object({ node: z.string() }) }),
  user_config: z.record(
    z.string(),
    z.object({ type: z.string(), title: z.string(), required: z.boolean().optional() }),
  ),
});
type Manifest = z.infer<typeof Manifest>;

describe('MCP Bundle from scripts/pack-mcpb.mjs', () => {
  let work: string;
  let bundle: string;
  let unpacked: string;
  let mcpb: string;
  let manifest: Manifest;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'checkpoint-mcp-bundle-'));
    bundle = join(work, 'checkpoint-mcp.mcpb');
    unpacked = join(work, 'unpacked');
    await run(process.execPath, ['scripts/pack-mcpb.mjs', bundle], { cwd: ROOT });
    mcpb = externalTool(MCPB);
    await run(process.execPath, [mcpb, 'unpack', bundle, unpacked]);
    manifest = Manifest.parse(JSON.parse(await readFile(join(unpacked, 'manifest.json'), 'utf8')));
  }, LONG);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('is what npm run pack:mcpb makes after the build', async () => {
    const pkg = await packageJson();
    expect(pkg.scripts['pack:mcpb']).toBe('npm run build && node scripts/pack-mcpb.mjs');
  });

  it('passes the mcpb CLI validate, icon included, which rejects a broken copy', async () => {
    const valid = await run(process.execPath, [mcpb, 'validate', join(unpacked, 'manifest.json')]);
    expect(valid.stdout).toContain('Manifest schema validation passes!');
    expect(valid.stdout).not.toContain('ERROR');

    const broken = join(work, 'broken');
    await run(process.execPath, [mcpb, 'unpack', bundle, broken]);
    const raw = JSON.parse(await readFile(join(broken, 'manifest.json'), 'utf8'));
    await writeFile(
      join(broken, 'manifest.json'),
      JSON.stringify({ ...raw, server: { ...raw.server, type: 'deno' } }),
    );
    await expect(
      run(process.execPath, [mcpb, 'validate', join(broken, 'manifest.json')]),
    ).rejects.toMatchObject({
      code: 1,
      stdout: expect.stringMatching(/server\.type/),
    });
  });

  it('holds the manifest, the server and its bundle, package.json, icon, README and LICENSE, and nothing else', async () => {
    const files = (await readdir(unpacked, { recursive: true, withFileTypes: true }))
      .filter((entry) => entry.isFile())
      .map((entry) => relative(unpacked, join(entry.parentPath, entry.name)).split('\\').join('/'))
      .sort();
    expect(files).toEqual([
      'LICENSE',
      'README.md',
      'dist/server.cjs',
      'dist/server.js',
      'icon.png',
      'manifest.json',
      'package.json',
    ]);
    expect(manifest.server.entry_point).toBe('dist/server.js');
    expect(manifest.icon).toBe('icon.png');
    const staged = JSON.parse(await readFile(join(unpacked, 'package.json'), 'utf8'));
    expect(staged.type).toBe('module');
    expect(staged).not.toHaveProperty('dependencies');
  });

  it('names the package, its version and description, and maps a folder picker to CHECKPOINT_BASE_DIR', async () => {
    const pkg = await packageJson();
    expect(manifest).toMatchObject({
      manifest_version: '0.3',
      name: pkg.name,
      version: pkg.version,
      description: pkg.description,
      compatibility: { runtimes: { node: pkg.engines.node } },
    });
    expect(manifest.user_config.base_dir).toMatchObject({ type: 'directory', required: true });
    expect(manifest.server.mcp_config).toEqual({
      command: 'node',
      args: [`${hostVariable('__dirname')}/dist/server.js`],
      env: { CHECKPOINT_BASE_DIR: hostVariable('user_config.base_dir') },
    });
    const envNames = OPTIONS.flatMap((option) => (option.env ? [option.env] : []));
    for (const name of Object.keys(manifest.server.mcp_config.env)) expect(envNames).toContain(name);
  });

  it(
    'started from the unpacked bundle as mcp_config says, serves the tools the manifest lists into the chosen folder',
    async () => {
      const base = join(work, 'chosen folder');
      const elsewhere = await mkdtemp(join(tmpdir(), 'checkpoint-mcp-host-cwd-'));
      const substitute = (text: string) =>
        text
          .replaceAll(hostVariable('__dirname'), unpacked)
          .replaceAll(hostVariable('user_config.base_dir'), base);
      const config = manifest.server.mcp_config;
      const transport = new StdioClientTransport({
        // The host's Node; "node" is what the manifest asks for.
        command: config.command === 'node' ? process.execPath : config.command,
        args: config.args.map(substitute),
        env: Object.fromEntries(Object.entries(config.env).map(([name, value]) => [name, substitute(value)])),
        cwd: elsewhere,
        stderr: 'pipe',
      });
      const client = new Client({ name: 'checkpoint-mcp-bundle-test', version: '1.0.0' });
      try {
        await client.connect(transport);
        expect(client.getServerVersion()?.version).toBe((await packageJson()).version);
        const { tools } = await client.listTools();
        expect(tools.map((tool) => ({ name: tool.name, description: tool.description }))).toEqual(
          manifest.tools,
        );
        const created = await client.callTool({
          name: 'create_project',
          arguments: { user_id: 'u1', startup_idea: 'An idea', project_id: 'from-bundle' },
        });
        expect(created.isError).not.toBe(true);
        expect(existsSync(join(base, 'from-bundle', 'project.md'))).toBe(true);
        expect(await readdir(elsewhere)).toEqual([]);
      } finally {
        await client.close();
        await rm(elsewhere, { recursive: true, force: true });
      }
    },
    LONG,
  );

  it(
    'packs the same bytes twice from the same build',
    async () => {
      const again = join(work, 'again.mcpb');
      await run(process.execPath, ['scripts/pack-mcpb.mjs', again], { cwd: ROOT });
      expect((await readFile(again)).equals(await readFile(bundle))).toBe(true);
    },
    LONG,
  );
});

/**
 * The parts of https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json that this
 * server.json uses (ServerDetail, Package, KeyValueInput, Input, StdioTransport), field by field.
 * Strict objects, unlike the schema, so a misspelt field fails here instead of being ignored.
 */
const EnvironmentVariable = z.strictObject({
  name: z.string(),
  description: z.string().optional(),
  isRequired: z.boolean().optional(),
  format: z.enum(['string', 'number', 'boolean', 'filepath']).optional(),
  value: z.string().optional(),
  isSecret: z.boolean().optional(),
  default: z.string().optional(),
  placeholder: z.string().optional(),
  choices: z.array(z.string()).optional(),
});
const NpmPackage = z.strictObject({
  registryType: z.literal('npm'),
  identifier: z.string().min(1),
  version: z
    .string()
    .min(1)
    .refine((version) => version !== 'latest' && !/[\^~<>=*]|\.x\b/.test(version), 'one specific version'),
  transport: z.strictObject({ type: z.literal('stdio') }),
  environmentVariables: z.array(EnvironmentVariable),
});
const Icon = z.strictObject({
  src: z.url({ protocol: /^https$/ }).max(255),
  mimeType: z.enum(['image/png', 'image/jpeg', 'image/jpg', 'image/svg+xml', 'image/webp']).optional(),
  sizes: z.array(z.string().regex(/^(\d+x\d+|any)$/)).optional(),
  theme: z.enum(['light', 'dark']).optional(),
});
const ServerJson = z.strictObject({
  $schema: z.literal('https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json'),
  name: z
    .string()
    .min(3)
    .max(200)
    .regex(/^[a-zA-Z0-9.-]+\/[a-zA-Z0-9._-]+$/),
  title: z.string().min(1).max(100).optional(),
  description: z.string().min(1).max(100),
  version: z.string().max(255),
  repository: z
    .strictObject({
      url: z.url(),
      source: z.string(),
      id: z.string().optional(),
      subfolder: z.string().optional(),
    })
    .optional(),
  websiteUrl: z.url().optional(),
  icons: z.array(Icon).optional(),
  packages: z.array(NpmPackage).min(1),
});

/** Options of --http alone: a stdio package has no use for them. */
const HTTP_ONLY = [
  'CHECKPOINT_HTTP_HOST',
  'CHECKPOINT_HTTP_PORT',
  'CHECKPOINT_HTTP_TOKEN_FILE',
  'CHECKPOINT_ALLOWED_HOSTS',
  'CHECKPOINT_ALLOWED_ORIGINS',
  'CHECKPOINT_MAX_CONNECTIONS',
];

describe('server.json for the MCP Registry', () => {
  it('has the fields of the 2025-12-11 server.json schema, each of its type', async () => {
    const parsed = ServerJson.safeParse(JSON.parse(await readFile(join(ROOT, 'server.json'), 'utf8')));
    expect(parsed.error?.issues).toBeUndefined();
  });

  it("is package.json's mcpName, version and description, published as that npm package over stdio", async () => {
    const pkg = await packageJson();
    const server = await serverJson();
    expect(pkg.mcpName).toMatch(/^io\.github\.[^/]+\/checkpoint-mcp$/);
    expect(server).toMatchObject({ name: pkg.mcpName, version: pkg.version, description: pkg.description });
    expect(server.packages).toHaveLength(1);
    expect(server.packages[0]).toMatchObject({
      registryType: 'npm',
      identifier: pkg.name,
      version: pkg.version,
      transport: { type: 'stdio' },
    });
  });

  it('declares each environment variable of src/options.ts but the HTTP ones, with its default', async () => {
    const server = await serverJson();
    const declared = server.packages[0]?.environmentVariables ?? [];
    const options = OPTIONS.filter((option) => option.env !== undefined);
    for (const name of HTTP_ONLY) expect(options.map((option) => option.env)).toContain(name);
    expect(declared.map((variable) => variable.name).sort()).toEqual(
      options
        .map((option) => option.env)
        .filter((name) => name !== undefined && !HTTP_ONLY.includes(name))
        .sort(),
    );
    for (const variable of declared) {
      const option = options.find((candidate) => candidate.env === variable.name);
      expect(variable.description, variable.name).toBeTruthy();
      // A connection string carries a password; nothing else does.
      expect(variable.isSecret, variable.name).toBe(variable.name === 'CHECKPOINT_STORE_URL');
      if (variable.default !== undefined) expect(variable.default, variable.name).toBe(option?.default);
      if (option?.value === '<n>') expect(variable.format, variable.name).toBe('number');
    }
    expect(declared.find((variable) => variable.name === 'CHECKPOINT_TOOLS')?.choices).toEqual([
      ...TOOL_SETS,
    ]);
    expect(declared.find((variable) => variable.name === 'CHECKPOINT_BASE_DIR')).toMatchObject({
      format: 'filepath',
      isRequired: true,
    });
  });
});

async function packageJson(): Promise<z.infer<typeof PackageJson>> {
  return PackageJson.parse(JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')));
}

async function serverJson(): Promise<z.infer<typeof ServerJson>> {
  return ServerJson.parse(JSON.parse(await readFile(join(ROOT, 'server.json'), 'utf8')));
}

/** `${name}` as a manifest writes it, for the host to substitute. */
function hostVariable(name: string): string {
  return `\${${name}}`;
}
