// Imported first by the server (src/server.ts), before zod loads and the SDK builds its protocol schemas:
// zod reads the setting as each schema is made, not as it parses.
//
// zod compiles a parser of its own (new Function) for each object schema the first time it checks a
// value against it. In a fresh process every schema is met for the first time, and code made that way is
// never in the code cache: the first load_session of a fresh server took 1.7-3 ms less without it here
// (medians of 20 fresh processes, four runs), its start 4-8 ms less. Checked without it, an argument
// costs 0.5-1.5 us more per call once warm, against a save's 1 ms.
//
// zod keeps its settings in one object on globalThis, made by the first copy of zod to load and shared
// by every later one (what `config` from 'zod' changes). It is set here, not with `config`: this module
// imports nothing, so it runs before any module of the bundle, zod's own included.
const shared = globalThis as { __zod_globalConfig?: { jitless?: boolean } };
shared.__zod_globalConfig ??= {};
shared.__zod_globalConfig.jitless = true;
