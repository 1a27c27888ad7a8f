export * from './zk-client.js';
