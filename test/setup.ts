import { useSeed } from './support/seed.js';

// Every property test in the file runs with the run's (printed) seed.
useSeed();
