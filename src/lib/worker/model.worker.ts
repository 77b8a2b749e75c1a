/**
 * The model worker: owns the GPU device and the one copy of the model weights. A router: each API
 * member forwards to the model session ($lib/session), which owns the loaded model, serialises the
 * jobs that use it and throws typed errors (they cross comlink with their code and parameters).
 */
import * as Comlink from 'comlink';
import { studioDb } from '../data/db';
import { registerSessionErrorTransfer } from '../session/errors';
import { ModelSession } from '../session/model-session';
import type { WorkerApi } from './api';

const session = new ModelSession({ db: studioDb });

const api: WorkerApi = {
	gpuReport: () => session.gpuReport(),
	kernelCheck: (probe) => session.kernelCheck(probe),
	loadModel: (source, onProgress) => session.load(source, onProgress),
	modelInfo: async () => session.info(),
	chat: (request, onProgress) => session.chat(request, onProgress),
	stop: async () => session.stop(),
	nextTokenProbabilities: (input, tokenIds) => session.nextTokenProbabilities(input, tokenIds),
	encode: (texts) => session.encode(texts),
	train: (runId, onEvent) => session.train(runId, onEvent),
	pauseTraining: async () => session.pauseTraining(),
	stopTraining: async () => session.stopTraining(),
	setChatAdapter: (adapterId) => session.setChatAdapter(adapterId)
};

registerSessionErrorTransfer();
Comlink.expose(api);
