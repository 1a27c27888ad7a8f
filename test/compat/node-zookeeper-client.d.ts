// node-zookeeper-client (devDependency, pure JS) ships no type declarations; the tests wrap it in
// test/compat/nzc.ts, which gives it the small typed surface they use.
declare module 'node-zookeeper-client';
