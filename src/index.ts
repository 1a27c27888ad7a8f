/**
 * The package's entry point: zkts embedded in a Node project (startServer, startEnsemble) and the
 * promise-based client that talks to it (or to any ZooKeeper server). The CLI is `zkts` (bin).
 */
export { startEnsemble, startServer } from './embed.js';
export type { EmbeddedServer, Ensemble, EnsembleServer, StartEnsembleOptions, StartServerOptions, ZooCfg } from './embed.js';
export { CREATOR_ALL_ACL, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE, ZkClient } from './client/index.js';
export type { CreateResult, WatchEvent, ZkClientOptions } from './client/index.js';
export { CreateFlag, ErrorCode, EventType, KeeperError, KeeperState, Perms } from './jute/index.js';
