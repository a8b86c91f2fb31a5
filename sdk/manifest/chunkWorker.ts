// Chunks one range of a file off the main thread (see chunkFile).
import { parentPort, workerData } from "worker_threads";
import { ChunkParams, chunkRangeSync } from "./chunking";

const job = workerData as { path: string; start: number; end: number; params: ChunkParams };
parentPort?.postMessage(chunkRangeSync(job.path, job.start, job.end, job.params));
