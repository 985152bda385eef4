import { inject } from 'vitest';

// Every integration test file sees the settings of the services the global setup started.
Object.assign(process.env, inject('serviceEnv'));
