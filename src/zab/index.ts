export * from './txn-log.js';
