export * from './codec.js';
export * from './connect.js';
export * from './constants.js';
export * from './errors.js';
export * from './multi.js';
export * from './reader.js';
export * as records from './records.js';
export * from './writer.js';
export * from './quorum.js';
