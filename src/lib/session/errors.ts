/**
 * The model session's errors: values with a `code` and typed `params`, never sentences that name a
 * page. The English `message` is for logs and the CLI; the UI words them in the user's language
 * (i18n/describe-error.ts). They cross the worker boundary intact: comlink sends a thrown Error as
 * {name, message, stack} only, so `registerSessionErrorTransfer()` (called by the worker and by its
 * client) adds the code and parameters on the way out and rebuilds a SessionError on the way in.
 */
import * as Comlink from 'comlink';
import { StorageFullError } from '../data/storage-write';

export interface SessionErrorParams {
	/** A call that needs the model before one was loaded (or after a lost device dropped it). */
	'no-model-loaded': Record<string, never>;
	/** A prompt longer than the engine's context. */
	'context-overflow': { tokens: number; limit: number };
	/** The GPU device was lost (driver reset, destroy()); the model is gone, a new load works. */
	'device-lost': { reason: string; message: string };
	/** A GPU allocation failed; `bytes` is what the engine had asked for in all at that point. */
	'out-of-memory': { bytes: number };
	/** A stored adapter does not fit the loaded model (shapes, modules). */
	'adapter-mismatch': { adapter: string; detail: string };
	'adapter-not-found': { id: string };
	/** train() while a run is already going (pause or stop it first). */
	'training-already-running': { runId: string };
	/** A token id outside the model's vocabulary. */
	'token-out-of-range': { id: number; vocabSize: number };
	/**
	 * The browser's storage quota was full while the worker saved `what` (a checkpoint, an adapter):
	 * nothing of it was written (data/storage-write.ts). A StorageFullError crosses as this code.
	 */
	'storage-full': { what: string };
}

export type SessionErrorCode = keyof SessionErrorParams;

export class SessionError<C extends SessionErrorCode = SessionErrorCode> extends Error {
	override name = 'SessionError';
	constructor(
		readonly code: C,
		readonly params: SessionErrorParams[C],
		message: string
	) {
		super(message);
	}
}

export function isSessionError<C extends SessionErrorCode>(
	e: unknown,
	code?: C
): e is SessionError<C> {
	return e instanceof SessionError && (code === undefined || e.code === code);
}

export const noModelLoaded = () =>
	new SessionError('no-model-loaded', {}, 'No model is loaded: load one with the model picker.');

export const contextOverflow = (p: SessionErrorParams['context-overflow']) =>
	new SessionError(
		'context-overflow',
		p,
		`The prompt is ${p.tokens} tokens long; the context holds ${p.limit}.`
	);

export const deviceLost = (p: SessionErrorParams['device-lost']) =>
	new SessionError(
		'device-lost',
		p,
		`The GPU device was lost (${p.reason}: ${p.message}); load the model again.`
	);

export const outOfMemory = (p: SessionErrorParams['out-of-memory']) =>
	new SessionError(
		'out-of-memory',
		p,
		`The GPU ran out of memory (${(p.bytes / 2 ** 20).toFixed(0)} MiB asked for).`
	);

export const adapterMismatch = (p: SessionErrorParams['adapter-mismatch']) =>
	new SessionError(
		'adapter-mismatch',
		p,
		`adapter "${p.adapter}" does not fit the loaded model: ${p.detail}`
	);

export const adapterNotFound = (p: SessionErrorParams['adapter-not-found']) =>
	new SessionError('adapter-not-found', p, `adapter ${p.id} not found`);

export const trainingAlreadyRunning = (p: SessionErrorParams['training-already-running']) =>
	new SessionError(
		'training-already-running',
		p,
		`A training run (${p.runId}) is already running: pause or stop it first.`
	);

export const tokenOutOfRange = (p: SessionErrorParams['token-out-of-range']) =>
	new SessionError(
		'token-out-of-range',
		p,
		`token id ${p.id} is outside the vocabulary (${p.vocabSize})`
	);

export const storageFull = (p: SessionErrorParams['storage-full']) =>
	new SessionError(
		'storage-full',
		p,
		`the browser's storage for this site is full: ${p.what} was not saved (nothing half-written was kept)`
	);

/** The typed form of a worker-side failure that has one (a full quota); others as they are. */
function typed(e: unknown): unknown {
	return e instanceof StorageFullError ? storageFull({ what: e.what }) : e;
}

/** What travels in place of comlink's {message, name, stack} for a SessionError. */
interface SerializedThrow {
	isError: boolean;
	value: {
		message?: string;
		name?: string;
		stack?: string;
		session?: { code: string; params: unknown };
	};
}

let registered = false;

/**
 * Makes thrown SessionErrors cross comlink with their code and parameters (both sides call it); a
 * StorageFullError thrown in the worker (a checkpoint saved by a training run) crosses as
 * SessionError storage-full.
 */
export function registerSessionErrorTransfer(): void {
	if (registered) return;
	registered = true;
	const base = Comlink.transferHandlers.get('throw') as Comlink.TransferHandler<
		{ value: unknown },
		SerializedThrow
	>;
	Comlink.transferHandlers.set('throw', {
		canHandle: base.canHandle,
		serialize(thrown: { value: unknown }) {
			const e = typed(thrown.value);
			const [wire, transfer] = base.serialize({ ...thrown, value: e });
			if (e instanceof SessionError && wire.isError)
				wire.value.session = { code: e.code, params: structuredClone(e.params) };
			return [wire, transfer];
		},
		deserialize(wire: SerializedThrow) {
			const s = wire.value?.session;
			if (wire.isError && s) {
				const e = new SessionError(
					s.code as SessionErrorCode,
					s.params as never,
					wire.value.message ?? ''
				);
				if (wire.value.stack) e.stack = wire.value.stack;
				throw e;
			}
			return base.deserialize(wire);
		}
	} as Comlink.TransferHandler<unknown, unknown>);
}
