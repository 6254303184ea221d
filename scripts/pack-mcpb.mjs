// Packs the built server into an MCP Bundle (.mcpb): a zip with manifest.json, the server (dist/server.js,
// which runs the esbuild bundle dist/server.cjs), a package.json (for "type": "module" and the version
// the server reports), the icon, README and LICENSE. Everything is bundled, so it runs with Node alone.
// The manifest's tools come from a real tools/list of the staged server, so they cannot go stale.
//
//   node scripts/pack-mcpb.mjs [output.mcpb]     (default: checkpoint-mcp-<version>.mcpb here)
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Where the server sits inside the bundle; it reads ../package.json from there. */
const ENTRY_POINT = 'dist/server.js';
/** What the entry point runs (scripts/bundle.mjs). */
const SERVER_BUNDLE = 'dist/server.cjs';
// 1980-01-01 00:00 in MS-DOS form: a fixed time, so the same inputs give the same bytes.
const DOS_TIME = 0;
const DOS_DATE = (1 << 5) | 1;
const UTF8_NAMES = 0x0800;
const DEFLATE = 8;
const MADE_BY_UNIX = (3 << 8) | 20;
const REGULAR_FILE_0644 = (0o100644 << 16) >>> 0;
const CRC_TABLE = Array.from({ length: 256 }, (_, byte) => {
  let crc = byte;
  for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  return crc >>> 0;
});

const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
await packBundle(resolve(process.argv[2] ?? `${pkg.name}-${pkg.version}.mcpb`));

async function packBundle(output) {
  const stage = await mkdtemp(join(tmpdir(), 'checkpoint-mcp-mcpb-'));
  try {
    await stageFiles(stage);
    const { serverInfo, tools } = await listTools(join(stage, ENTRY_POINT));
    const manifest = renderManifest(serverInfo, tools);
    await writeFile(join(stage, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    const zip = zipFiles(await readTree(stage));
    await mkdir(dirname(output), { recursive: true });
    await writeFile(output, zip);
    process.stdout.write(
      `${relative(process.cwd(), output) || output}: ${tools.length} tools, ${zip.length} bytes\n`,
    );
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

/** The manifest (MCPB manifest_version 0.3: github.com/anthropics/mcpb MANIFEST.md, src/schemas/0.3.ts). */
function renderManifest(serverInfo, tools) {
  return {
    manifest_version: '0.3',
    name: pkg.name,
    display_name: serverInfo.title ?? pkg.name,
    version: pkg.version,
    description: pkg.description,
    long_description:
      'Saves every agent output, phase checkpoint and human review of a phased multi-agent workflow as plain markdown files in a folder you choose, so a run can stop and resume where it stopped. The files stay readable and editable by people.',
    author: { name: 'checkpoint-mcp contributors' },
    icon: 'icon.png',
    license: pkg.license,
    keywords: ['checkpoint', 'markdown', 'multi-agent', 'workflow', 'resume'],
    server: {
      type: 'node',
      entry_point: ENTRY_POINT,
      mcp_config: {
        command: 'node',
        args: [`${hostVariable('__dirname')}/${ENTRY_POINT}`],
        env: { CHECKPOINT_BASE_DIR: hostVariable('user_config.base_dir') },
      },
    },
    tools: tools.map((tool) => ({
      name: tool.name,
      description: tool.description ?? tool.title ?? tool.name,
    })),
    // resume_session and review_phase are prompts with arguments the server fills in: listed at run time.
    prompts_generated: true,
    compatibility: {
      platforms: ['darwin', 'win32', 'linux'],
      runtimes: { node: pkg.engines.node },
    },
    user_config: {
      base_dir: {
        type: 'directory',
        title: 'Checkpoint folder',
        description:
          'Folder that holds the markdown checkpoints, one subfolder per project. Created if missing.',
        required: true,
        default: `${hostVariable('DOCUMENTS')}/checkpoint-mcp`,
      },
    },
  };
}

/** `${name}`, which the host replaces when it starts the server (MANIFEST.md, Variable Substitution). */
function hostVariable(name) {
  return `\${${name}}`;
}

async function stageFiles(stage) {
  const copies = [
    [ENTRY_POINT, ENTRY_POINT],
    [SERVER_BUNDLE, SERVER_BUNDLE],
    ['assets/icon.png', 'icon.png'],
    ['README.md', 'README.md'],
    ['LICENSE', 'LICENSE'],
  ];
  for (const [from, to] of copies) {
    await mkdir(dirname(join(stage, to)), { recursive: true });
    await copyFile(join(ROOT, from), join(stage, to)).catch((error) => {
      if (error.code === 'ENOENT' && (from === ENTRY_POINT || from === SERVER_BUNDLE))
        throw new Error(`${from} is missing; run npm run build first (npm run pack:mcpb does)`);
      throw error;
    });
  }
  // Everything is bundled: no dependencies, nothing for a host to install.
  const { name, version, description, license, type, engines } = pkg;
  const staged = { name, version, description, license, type, engines };
  await writeFile(join(stage, 'package.json'), `${JSON.stringify(staged, null, 2)}\n`);
}

/** Starts the staged server as a host would (cwd elsewhere, no node_modules near it) and lists its tools. */
async function listTools(entry) {
  const base = await mkdtemp(join(tmpdir(), 'checkpoint-mcp-mcpb-base-'));
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [entry],
    // Only what the manifest sets: a CHECKPOINT_TOOLS=core in this shell must not shrink the tool list.
    env: {
      ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('CHECKPOINT_'))),
      CHECKPOINT_BASE_DIR: base,
    },
    cwd: base,
    stderr: 'pipe',
  });
  const client = new Client({ name: 'pack-mcpb', version: pkg.version });
  try {
    await client.connect(transport);
    const tools = [];
    let cursor;
    do {
      const page = await client.listTools(cursor === undefined ? {} : { cursor });
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return { serverInfo: client.getServerVersion() ?? {}, tools };
  } finally {
    await client.close();
    await rm(base, { recursive: true, force: true });
  }
}

async function readTree(dir) {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath ?? entry.path, entry.name))
    .sort();
  return Promise.all(
    files.map(async (file) => ({
      name: relative(dir, file).split(sep).join('/'),
      data: await readFile(file),
    })),
  );
}

/** A zip archive (PKWARE APPNOTE 4.3/4.4) of deflated files; Node has zlib but no zip. */
function zipFiles(files) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const { name, data } of files) {
    const nameBytes = Buffer.from(name, 'utf8');
    const body = deflateRawSync(data, { level: 9 });
    const fields = {
      crc: crc32(data),
      compressed: body.length,
      size: data.length,
      nameLength: nameBytes.length,
    };
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    writeCommon(local, 4, fields);
    locals.push(local, nameBytes, body);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(MADE_BY_UNIX, 4);
    writeCommon(central, 6, fields);
    central.writeUInt32LE(REGULAR_FILE_0644, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** The fields a local header and a central directory entry share, from "version needed" to the name length. */
function writeCommon(buffer, at, { crc, compressed, size, nameLength }) {
  buffer.writeUInt16LE(20, at);
  buffer.writeUInt16LE(UTF8_NAMES, at + 2);
  buffer.writeUInt16LE(DEFLATE, at + 4);
  buffer.writeUInt16LE(DOS_TIME, at + 6);
  buffer.writeUInt16LE(DOS_DATE, at + 8);
  buffer.writeUInt32LE(crc, at + 10);
  buffer.writeUInt32LE(compressed, at + 14);
  buffer.writeUInt32LE(size, at + 18);
  buffer.writeUInt16LE(nameLength, at + 22);
}

/** CRC-32 as zip wants it (zlib.crc32 only came with Node 20.15). */
function crc32(data) {
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
