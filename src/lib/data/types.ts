/**
 * The product's memory: every record the studio keeps in IndexedDB. Each generated thing records
 * how it was made (model, adapter, prompt/rubric version, sampling, seed) so it can be reproduced.
 * Plain data only (structured-clone friendly): no classes, no functions.
 */

export type Language = 'en' | 'ja';
/** Where a record came from. Curated records ship with the studio and are never overwritten silently. */
export type Origin = 'curated' | 'user' | 'imported' | 'generated';

export interface SamplingSettings {
	temperature: number;
	topK: number;
	topP: number;
	repetitionPenalty: number;
	maxNewTokens: number;
	seed?: number;
}

export interface ChatMessage {
	role: 'user' | 'model';
	content: string;
}

export interface Character {
	id: string;
	name: string;
	language: Language;
	/** Background, personality, likes — read by both the generator and the judge. */
	profile: string;
	styleNotes: string;
	exampleLines: string[];
	/** Prompt placed at the start of the first user turn (Gemma has no system role). */
	prompt: string;
	/** Short prompt-variant prefix placed before the first user utterance ("Socrates." / 「ソクラテスさん。」). */
	shortPrefix?: string;
	/** Long prompt-variant prefix ("You are Socrates, the ancient Greek philosopher."). */
	longPrefix?: string;
	origin: Origin;
	/** Stable id of the built-in record this came from (curated content). */
	curatedKey?: string;
	createdAt: number;
	updatedAt: number;
}

export type PersonaKind = 'ordinary' | 'historical' | 'modern-influenced';

export interface Persona {
	id: string;
	name: string;
	kind: PersonaKind;
	language: Language;
	description: string;
	origin: Origin;
	curatedKey?: string;
	createdAt: number;
}

export interface OpeningQuestion {
	id: string;
	language: Language;
	text: string;
	/** Character the question belongs to; undefined = usable by any character. */
	characterId?: string;
	origin: Origin;
	curatedKey?: string;
	createdAt: number;
}

export interface ModelRef {
	/** Hub repo id (`mlc-ai/...`), `local:<folder name>`, or a mirror URL. */
	model: string;
	revision?: string;
	adapterId?: string;
}

export interface DialogueGeneration extends ModelRef {
	characterSampling: SamplingSettings;
	userSampling: SamplingSettings;
	exchanges: number;
	seed: number;
	promptVersion: string;
	jobId?: string;
	/** Set when the dialogue outgrew the model's context: the exchanges written before it are kept. */
	stoppedEarly?: { reason: 'context'; exchanges: number; contextTokens: number };
}

export type ReviewStatus = 'pending' | 'accepted' | 'rejected';

export interface DialogueTurn extends ChatMessage {
	/** Set when a reviewer edited the generated text; holds the original. */
	originalContent?: string;
	/** Set when a reviewer rejected this single turn: windows containing it are left out of datasets. */
	rejected?: boolean;
}

export interface Dialogue {
	id: string;
	characterId: string;
	personaId?: string;
	questionId?: string;
	language: Language;
	turns: DialogueTurn[];
	origin: 'generated' | 'imported' | 'curated';
	generation?: DialogueGeneration;
	status: ReviewStatus;
	createdAt: number;
	updatedAt: number;
}

export interface RubricCriterion {
	key: string;
	label: string;
	/** Anchors per score, e.g. {0: 'not the character at all', 4: 'exactly the character'}. */
	anchors: Record<number, string>;
}

export interface Rubric {
	id: string;
	/** Stable across versions (e.g. 'seeds-tone-flow'); id changes per version. */
	key: string;
	version: number;
	name: string;
	language: Language;
	/** Prompt template with {{character}}, {{profile}}, {{dialogue}}, {{criterion}} placeholders. */
	template: string;
	criteria: RubricCriterion[];
	scale: { min: number; max: number };
	/** Weights of `combined_score` by criterion key (absent: the plain mean of the criteria). */
	combined?: Record<string, number>;
	origin: Origin;
	createdAt: number;
}

export interface JudgeRef extends ModelRef {
	kind: 'local' | 'remote';
	/** Remote judge endpoint (OpenAI-compatible); never the key. */
	endpoint?: string;
	temperature?: number;
}

export interface CriterionScore {
	/** Probability-weighted score (G-Eval style) or the parsed score of a remote judge. */
	score: number;
	/** Probability of each allowed digit, min..max, when read from the model's distribution. */
	distribution?: number[];
}

export interface Judgment {
	id: string;
	dialogueId: string;
	rubricId: string;
	rubricKey: string;
	rubricVersion: number;
	judge: JudgeRef;
	scores: Record<string, CriterionScore>;
	/** The judge's explanation, so a person can check it. */
	comment: string;
	/** The reviewer's view of this judgment. */
	reviewerDecision?: 'agree' | 'disagree';
	createdAt: number;
}

export type PromptVariant = 'none' | 'short' | 'long';

export interface DatasetRecipe {
	sources: { dialogueIds?: string[]; curatedSet?: string; importedFile?: string };
	window: { kind: 'exchange' } | { kind: 'utterances'; size: number };
	variant: PromptVariant;
	language: Language;
	endWithEndOfTurn: boolean;
	shuffleSeed: number;
	evalFraction: number;
	evalCap: number;
}

export interface TrainingExample {
	messages: ChatMessage[];
	/** Stable key of a built-in (curated) example. */
	curatedKey?: string;
}

export interface DatasetStatistics {
	examples: number;
	totalTokens: number;
	averageTokens: number;
	maxTokens: number;
	minTokens: number;
	averageUserTokens: number;
	averageModelTokens: number;
	variant: PromptVariant;
	/** Tokenizer the statistics were computed with. */
	tokenizer: string;
}

export interface Dataset {
	id: string;
	name: string;
	origin: Origin;
	curatedKey?: string;
	recipe?: DatasetRecipe;
	train: TrainingExample[];
	eval: TrainingExample[];
	statistics?: DatasetStatistics;
	createdAt: number;
	updatedAt: number;
}

export type RunStatus = 'queued' | 'running' | 'paused' | 'completed' | 'stopped' | 'failed';

export interface TrainingMetric {
	step: number;
	epoch: number;
	loss?: number;
	evalLoss?: number;
	learningRate?: number;
	gradNorm?: number;
	tokensPerSecond?: number;
	gpuMemoryBytes?: number;
	/** Extra metrics from the judge hook (style scores). */
	scores?: Record<string, number>;
	time: number;
}

export interface TrainingRun {
	id: string;
	name: string;
	base: ModelRef;
	datasetId?: string;
	/** Hugging Face TrainingArguments names. */
	trainingArgs: Record<string, unknown>;
	/** PEFT LoraConfig names. */
	loraConfig: Record<string, unknown>;
	status: RunStatus;
	metrics: TrainingMetric[];
	/** Judge scores at every evaluation (issue 14); absent: only the eval loss is measured. */
	judgeEvaluation?: JudgeEvaluationSettings;
	error?: string;
	createdAt: number;
	updatedAt: number;
}

/** What a run's evaluations judge: replies to held-out prompts, scored with a rubric. */
export interface JudgeEvaluationSettings {
	rubricId: string;
	/** The character the rubric judges the replies as. */
	characterId: string;
	/** Held-out prompts (from the dataset's eval split, a seeded pick) replied to at each evaluation. */
	prompts: number;
	/** Picks the prompts and seeds the sampling: the same prompts and draws at every evaluation. */
	seed: number;
	/** Sampling of the replies; its maxNewTokens is each reply's token budget (the judge is greedy). */
	sampling: SamplingSettings;
	/** Token budget of the judge's comment per criterion (default DEFAULT_JUDGE_SAMPLING's 384). */
	judgeTokens?: number;
	/**
	 * Judge with this OpenAI-compatible server instead of the base model (the Judge page's remote
	 * judge; its API key stays in that setting, never in the run). Absent: the local judge.
	 */
	remoteJudge?: { endpoint: string; model: string };
}

/** One reply generated at an evaluation of a run, and its judgment (or why judging failed). */
export interface EvalReply {
	id: string;
	runId: string;
	step: number;
	/** Position of the prompt in the run's fixed prompt set. */
	index: number;
	/** The conversation up to the reply (the held-out example without its last model turn). */
	prompt: ChatMessage[];
	reply: string;
	/** The expected reply from the dataset. */
	reference?: string;
	/** The base model's judgment of the reply (its dialogueId is this record's id). */
	judgment?: Judgment;
	/** Judging failed (counted as failed, not as a zero). */
	error?: string;
	createdAt: number;
}

export interface Checkpoint {
	id: string;
	runId: string;
	/** Optimizer steps done. */
	step: number;
	/**
	 * Everything to resume exactly (src/lib/lora/trainer.ts TrainerState: adapter tensors, AdamW
	 * moments, data position, log, best metric) — typed arrays, stored as they are by IndexedDB.
	 */
	state: unknown;
	/** Where in the (seeded) data order training stopped. */
	dataPosition: { epoch: number; batchInEpoch: number };
	metrics: Record<string, number>;
	/** Best by metric_for_best_model so far (kept beyond save_total_limit). */
	best?: boolean;
	/** The run was paused during this step's evaluation: a resume runs that evaluation first. */
	evaluationPending?: boolean;
	createdAt: number;
}

export interface Adapter {
	id: string;
	name: string;
	base: ModelRef;
	origin: 'trained' | 'imported' | 'curated' | 'mixed';
	/** adapter_config.json text, exactly as PEFT writes it. */
	configJson: string;
	/** adapter_model.safetensors */
	weights: Blob;
	r: number;
	loraAlpha: number;
	targetModules: string[];
	runId?: string;
	checkpointId?: string;
	/** data/adapter-records.ts adapterFingerprint: one entry per distinct adapter. */
	fingerprint?: string;
	scores?: Record<string, number>;
	/** Copies published to a hub (newest last): what a share link can name instead of local files. */
	published?: PublishedCopy[];
	createdAt: number;
	updatedAt: number;
}

/** Where an adapter or dataset was published: the hub's API base, the repo and the commit. */
export interface PublishedCopy {
	hubUrl: string;
	repo: string;
	/** The commit oid the files landed in. */
	revision: string;
	private: boolean;
	at: number;
}

export interface ChatSession {
	id: string;
	title: string;
	model: ModelRef;
	characterPrompt: string;
	sampling: SamplingSettings;
	messages: (ChatMessage & { createdAt: number; tokensPerSecond?: number })[];
	createdAt: number;
	updatedAt: number;
}

export interface JobFailure {
	/** 'context': a prompt did not fit the model's context; 'stopped': any other error. */
	code: 'context' | 'stopped';
	params: Record<string, string | number>;
}

/** A pausable background job of the engine worker (generation, judging, training). */
export interface Job {
	id: string;
	kind: 'generate' | 'judge' | 'train';
	status: 'queued' | 'running' | 'paused' | 'done' | 'failed';
	/** The job's own specification (what to do), enough to resume after a reload. */
	spec: Record<string, unknown>;
	progress: { done: number; total: number };
	error?: string;
	/** Why the job stopped, as a code and parameters the page words in the UI language. */
	failure?: JobFailure;
	createdAt: number;
	updatedAt: number;
}

export interface Setting {
	key: string;
	value: unknown;
}
