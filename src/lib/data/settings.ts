/**
 * Every setting the studio keeps in IndexedDB (`settings` table), declared once: its key, its type
 * and its default. Pages and modules read and write through `readSetting` / `writeSetting`, never
 * with a key string of their own.
 */
import type { SamplingSettings } from './types';
import type { ModelSource } from '../worker/api';
import { getSetting, putSetting, studioDb, type StudioDatabase } from './db';

export interface Setting<T> {
	readonly key: string;
	readonly fallback: T;
}

const setting = <T>(key: string, fallback: T): Setting<T> => ({ key, fallback });

export const SETTINGS = {
	/** The model picker's last hub or URL source (folders are never stored). */
	modelSource: setting<ModelSource | null>('chat.modelSource', null),
	/** Download speed measured by the last model download, bytes per second (home page estimate). */
	downloadSpeed: setting<number | null>('hub.measuredBytesPerSecond', null),
	/** The hub mirror (a classroom server), '' for huggingface.co. */
	mirror: setting<string>('hub.baseUrl', ''),
	/** Chat's sampling overrides (merged over DEFAULT_SAMPLING). */
	chatSampling: setting<Partial<SamplingSettings>>('chat.sampling', {}),
	/** The adapter chat applies (`adapter:ID` or a shared reference), null for none. */
	chatAdapterRef: setting<string | null>('chat.adapterRef', null),
	/** The conversation open when chat was left, reopened on return. */
	chatLastConversation: setting<string | null>('chat.lastConversation', null),
	/** The local judge endpoint (legacy single URL). */
	judgeEndpoint: setting<string | null>('judge.endpoint', null),
	/** The judge page's remote judge choice. */
	judgeRemote: setting<{ kind?: string; endpoint?: string } | null>('studio.judge.remote', null),
	/** The generate page's last form. */
	generateForm: setting<Record<string, unknown> | null>('studio.generate.form', null),
	/** Fingerprints of the curated content already seeded (src/lib/studio/curated.ts). */
	curatedFingerprints: setting<Record<string, string>>('curated-fingerprints', {})
} as const;

export function readSetting<T>(s: Setting<T>, db: StudioDatabase = studioDb()): Promise<T> {
	return getSetting(db, s.key, s.fallback);
}

export function writeSetting<T>(
	s: Setting<T>,
	value: T,
	db: StudioDatabase = studioDb()
): Promise<void> {
	return putSetting(db, s.key, value);
}
