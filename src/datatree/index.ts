export * from './acl-cache.js';
export * from './datatree.js';
export * from './ephemeral-type.js';
export * from './paths.js';
export * from './txn.js';
export * from './watches.js';
export * from './znode.js';
