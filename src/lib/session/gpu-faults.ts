/**
 * GPU faults as session errors. WebGPU reports a failed allocation through an error scope (the
 * buffer is created anyway, invalid) and a lost device through `device.lost`; both become typed
 * errors here (OutOfMemory{bytes}, DeviceLost{reason}).
 */
import { outOfMemory } from './errors';

/** True when `e` is, or was caused by, a failed GPU allocation. */
export function isOutOfMemory(e: unknown): boolean {
	if (typeof GPUOutOfMemoryError === 'undefined') return false;
	return (
		e instanceof GPUOutOfMemoryError ||
		(e instanceof Error && e.cause instanceof GPUOutOfMemoryError)
	);
}

/**
 * Runs `allocate` inside an 'out-of-memory' error scope. A failed allocation becomes
 * OutOfMemory{bytes} (`bytes()`: what had been asked for in all), after `release` frees what was
 * made; any other failure is rethrown as it is.
 */
export async function allocating<T>(
	device: GPUDevice,
	bytes: () => number,
	allocate: () => T | Promise<T>,
	release: () => void
): Promise<T> {
	device.pushErrorScope('out-of-memory');
	let value: T | undefined;
	let failure: unknown = null;
	try {
		value = await allocate();
	} catch (e) {
		failure = e;
	}
	const oom = await device.popErrorScope();
	if (oom || isOutOfMemory(failure)) {
		const asked = bytes();
		release();
		throw outOfMemory({ bytes: asked });
	}
	if (failure !== null) {
		release();
		throw failure;
	}
	return value as T;
}
