/** The settings that bound a server's memory against its clients, from zoo.cfg and -D properties. */
import { describe, expect, it } from 'vitest';
import { applySystemProperties, ConfigError, defaultConfig, parseZooCfg } from '../../src/server/config.js';

describe('memory limits in the configuration', () => {
  it('globalOutstandingLimit defaults to 1000 and is read from zoo.cfg and -Dzookeeper.globalOutstandingLimit', () => {
    expect(defaultConfig().globalOutstandingLimit).toBe(1000);
    const c = parseZooCfg('globalOutstandingLimit=50', 'zoo.cfg');
    expect(c.globalOutstandingLimit).toBe(50);
    expect(c.warnings).toEqual([]);
    expect(applySystemProperties(c, ['zookeeper.globalOutstandingLimit=7']).globalOutstandingLimit).toBe(7);
    expect(() => parseZooCfg('globalOutstandingLimit=lots', 'zoo.cfg')).toThrow(ConfigError);
  });

  it('zkts.maxUnreadOutputBytes is unset by default (4 MiB + jute.maxbuffer) and read from -D and zoo.cfg', () => {
    expect(defaultConfig().maxUnreadOutputBytes).toBeUndefined();
    expect(applySystemProperties(defaultConfig(), ['zkts.maxUnreadOutputBytes=65536']).maxUnreadOutputBytes).toBe(65536);
    expect(parseZooCfg('zkts.maxUnreadOutputBytes=1048576', 'zoo.cfg').maxUnreadOutputBytes).toBe(1048576);
    expect(() => applySystemProperties(defaultConfig(), ['zkts.maxUnreadOutputBytes=0'])).toThrow(ConfigError);
  });

  it("warns that ZooKeeper's RequestThrottler (request_throttle_max_requests) is not supported, unless it is off", () => {
    const on = applySystemProperties(defaultConfig(), ['zookeeper.request_throttle_max_requests=100']);
    expect(on.warnings).toEqual([expect.stringMatching(/request_throttle_max_requests .*not supported/)]);
    expect(parseZooCfg('request_throttle_max_requests=0', 'zoo.cfg').warnings).toEqual([]);
  });
});
