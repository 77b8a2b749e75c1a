/**
 * The studio's IndexedDB database (Dexie). The schema is versioned explicitly: a change adds a new
 * `this.version(n)` with its upgrade function; old versions stay so any user's database can be
 * migrated forward. Nothing the user made is deleted by a migration.
 */
import Dexie, { type EntityTable } from 'dexie';
import type {
	Adapter,
	Character,
	ChatSession,
	Checkpoint,
	Dataset,
	Dialogue,
	EvalReply,
	Job,
	Judgment,
	OpeningQuestion,
	Persona,
	Rubric,
	Setting,
	TrainingRun
} from './types';

export const DATABASE_NAME = 'mondo-studio';

export class StudioDatabase extends Dexie {
	characters!: EntityTable<Character, 'id'>;
	personas!: EntityTable<Persona, 'id'>;
	openingQuestions!: EntityTable<OpeningQuestion, 'id'>;
	dialogues!: EntityTable<Dialogue, 'id'>;
	rubrics!: EntityTable<Rubric, 'id'>;
	judgments!: EntityTable<Judgment, 'id'>;
	datasets!: EntityTable<Dataset, 'id'>;
	runs!: EntityTable<TrainingRun, 'id'>;
	checkpoints!: EntityTable<Checkpoint, 'id'>;
	adapters!: EntityTable<Adapter, 'id'>;
	chats!: EntityTable<ChatSession, 'id'>;
	jobs!: EntityTable<Job, 'id'>;
	settings!: EntityTable<Setting, 'key'>;
	evalReplies!: EntityTable<EvalReply, 'id'>;

	constructor(name = DATABASE_NAME, options?: ConstructorParameters<typeof Dexie>[1]) {
		super(name, options);
		// Version 1: the whole product's schema. Only indexed fields are listed here.
		this.version(1).stores({
			characters: 'id, name, language, origin, &curatedKey, updatedAt',
			personas: 'id, kind, language, origin, &curatedKey',
			openingQuestions: 'id, language, characterId, origin, &curatedKey',
			dialogues:
				'id, characterId, personaId, status, origin, language, createdAt, generation.jobId',
			rubrics: 'id, key, [key+version], language, origin',
			judgments: 'id, dialogueId, rubricId, [dialogueId+rubricKey], createdAt',
			datasets: 'id, name, origin, &curatedKey, updatedAt',
			runs: 'id, status, datasetId, updatedAt',
			checkpoints: 'id, runId, [runId+step], createdAt',
			adapters: 'id, name, origin, runId, updatedAt',
			chats: 'id, updatedAt',
			jobs: 'id, kind, status, updatedAt',
			settings: 'key'
		});
		// Version 2: the replies and judgments of every judge evaluation of a training run (issue
		// 14). A new table; nothing earlier changes, so there is nothing to upgrade.
		this.version(2).stores({ evalReplies: 'id, runId, [runId+step]' });
	}
}

let instance: StudioDatabase | undefined;

/** The app's one database connection (created lazily so tests can construct their own). */
export function studioDb(): StudioDatabase {
	return (instance ??= new StudioDatabase());
}

export function newId(): string {
	return crypto.randomUUID();
}

export async function getSetting<T>(db: StudioDatabase, key: string, fallback: T): Promise<T> {
	const row = await db.settings.get(key);
	return row === undefined ? fallback : (row.value as T);
}

export async function putSetting(db: StudioDatabase, key: string, value: unknown): Promise<void> {
	await db.settings.put({ key, value });
}

export interface StorageReport {
	persisted: boolean;
	usage: number | null;
	quota: number | null;
}

/** Ask the browser to keep our data (models, adapters, datasets) under storage pressure. */
export async function requestPersistentStorage(): Promise<StorageReport> {
	const storage = globalThis.navigator?.storage;
	if (!storage) return { persisted: false, usage: null, quota: null };
	let persisted = (await storage.persisted?.()) ?? false;
	if (!persisted && storage.persist) persisted = await storage.persist().catch(() => false);
	const estimate = await storage.estimate?.().catch(() => undefined);
	return { persisted, usage: estimate?.usage ?? null, quota: estimate?.quota ?? null };
}
