import type { Command } from '../cli.js';
export const command: Command = { summary: 'the demo (work in progress)', async run() { return 1; } };
