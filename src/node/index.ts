/**
 * The package root as Node loads it (the `node` condition of package.json's
 * "." export): the library of ../index.ts, with the tick clock
 * (realtime.ts) as every Kernel's default, so that stamping a time costs a
 * load rather than a Date.now() call. Other platforms load ../index.ts
 * itself and read the host clock.
 */
import { installTickClock } from './realtime.js';

installTickClock();

export * from '../index.js';
