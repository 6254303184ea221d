import type { ColdStartResult } from '../cold-start.js';
import type { HttpResult } from '../http.js';
import type { MemoryResult } from '../memory.js';
import type { OperationsResult } from '../operations.js';
import type { PeerRow } from '../peer.js';
import type { PostgresResult } from '../postgres.js';
import type { ProfilesResult } from '../profiles.js';
import type { ScalingRow } from '../scaling.js';
import type { FloorServerRow, ThroughputRow } from '../throughput.js';
import type { WorstCaseResult } from '../worst-case.js';

export interface Machine {
  date: string;
  node: string;
  platform: string;
  cpus: number;
  cpuModel: string;
  /** Load averages (1, 5, 15 minutes) when the run started and when it ended. */
  loadBefore: number[];
  loadAfter: number[];
  seconds: number;
  /** The share of the machine's CPU time the hypervisor took during the run (steal, /proc/stat). */
  stealShare?: number;
  /** Whether each section's folder was placed in a block group of its own (see spreadFolders in run.ts). */
  spreadFolders?: boolean;
}

export interface Results {
  machine: Machine;
  operations?: OperationsResult;
  scaling?: ScalingRow[];
  throughput?: ThroughputRow[];
  /** CPU per save of the 1-process run's durable writes done directly in Node (see floorCpuMsPerSave). */
  throughputFloorCpuMs?: number;
  /** The 1- and 8-process runs with the floor server (see benchFloorServer). */
  throughputFloorServer?: FloorServerRow[];
  coldStart?: ColdStartResult;
  memory?: MemoryResult;
  worstCase?: WorstCaseResult;
  peer?: PeerRow[];
  http?: HttpResult;
  postgres?: PostgresResult;
  profiles?: ProfilesResult;
  targets: Target[];
}

export interface Target {
  target: string;
  measured: string;
  limit: string;
  pass: boolean;
}
