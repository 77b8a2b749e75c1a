import type { Server } from 'node:http';

/** Start `server` on a free loopback port; its base URL. */
export async function listenLocal(server: Server): Promise<string> {
	await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
	const a = server.address();
	return `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
}
