export * from './checksum.js';
export * from './file-txn-log.js';
export * from './persistence.js';
export * from './recovery.js';
export * from './snapshot-file.js';
export * from './txn-codec.js';
export * from './txn-log.js';
export * from './txn-log-file.js';
