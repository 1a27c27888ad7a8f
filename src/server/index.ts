export * from './cli-options.js';
export * from './config.js';
export * from './config-check.js';
export * from './logger.js';
export * from './tcp-server.js';
export * from './zk-server.js';
