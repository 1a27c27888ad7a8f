export * from './storage.js';
export * from './sim-disk.js';
