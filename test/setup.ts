import { setLockChecking } from '../src/sync/mutex.js';
import { useSeed } from './support/seed.js';

// Lock-order checking is always on in tests, and every property test in the
// file runs with the run's (printed) seed.
setLockChecking(true);
useSeed();
