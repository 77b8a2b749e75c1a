/**
 * What this browser can do with no network: is the service worker installed and controlling the
 * page, how much of the app shell is cached (src/service-worker.ts), which models are in Cache
 * Storage (src/lib/model/hub.ts). Read-only; the settings page shows it.
 */
import { listCachedModels, type CachedModel } from '../model/hub';

/** Must match SHELL_PREFIX in src/service-worker.ts. */
export const SHELL_CACHE_PREFIX = 'mondo-shell:';

export type ServiceWorkerState = 'controlling' | 'active' | 'installing' | 'none' | 'unsupported';

export interface OfflineStatus {
	serviceWorker: ServiceWorkerState;
	/** Files in the current app-shell cache (0 when there is none). */
	shellFiles: number;
	models: CachedModel[];
}

export async function serviceWorkerState(): Promise<ServiceWorkerState> {
	const container = globalThis.navigator?.serviceWorker;
	if (!container) return 'unsupported';
	if (container.controller) return 'controlling';
	const registration = await container.getRegistration().catch(() => undefined);
	if (!registration) return 'none';
	if (registration.active) return 'active';
	return registration.installing || registration.waiting ? 'installing' : 'none';
}

export async function shellFileCount(): Promise<number> {
	if (!globalThis.caches) return 0;
	let count = 0;
	for (const name of await caches.keys())
		if (name.startsWith(SHELL_CACHE_PREFIX))
			count = Math.max(count, (await (await caches.open(name)).keys()).length);
	return count;
}

export async function offlineStatus(): Promise<OfflineStatus> {
	const [serviceWorker, shellFiles, models] = await Promise.all([
		serviceWorkerState(),
		shellFileCount(),
		globalThis.caches ? listCachedModels() : Promise.resolve([])
	]);
	return { serviceWorker, shellFiles, models };
}
