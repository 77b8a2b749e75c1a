/** Messages of Hub publishing, the Hub account and sharing a chat with a local adapter. */
export const hubEn = {
	'hub.account.title': 'Hugging Face account (for publishing)',
	'hub.account.help':
		'To publish adapters and datasets, paste a Hugging Face access token with write permission (huggingface.co → Settings → Access Tokens). It is kept in this browser only: never in a share link or an export.',
	'hub.token.label': 'Access token',
	'hub.token.save': 'Check and save',
	'hub.token.checking': 'Checking…',
	'hub.token.remove': 'Remove token',
	'hub.token.signedIn': 'Signed in as {name}',
	'hub.token.stored': 'Token {masked} ({via})',
	'hub.token.viaToken': 'access token',
	'hub.token.viaOauth': 'Hugging Face sign-in',
	'hub.token.hub': 'Publishing goes to {hub} (the mirror setting, when one is set).',
	'hub.oauth.clientId': 'OAuth client id',
	'hub.oauth.help':
		'Only where this studio is served from an origin registered for a Hugging Face OAuth app: enter its client id to sign in without a token.',
	'hub.oauth.login': 'Sign in with Hugging Face',
	'hub.error.badToken':
		'The Hub refused the access token (401). Check it in Settings, or create a new token with write permission.',
	'hub.error.forbidden':
		'No write access (403): the namespace or repo belongs to someone else, or the token may not write there.',
	'hub.error.taken':
		'A repo with this name already exists (409). Choose another name, or tick “update it if it exists” when it is yours.',
	'hub.error.offline': 'The Hub could not be reached: check the network connection.',
	'hub.error.notFound': 'The Hub has no such repo or revision (404).',
	'hub.error.invalidName':
		'Not a repo name: use owner/name (letters, digits, - _ .), e.g. your-name/socrates-lora.',
	'hub.error.failed': 'Publishing failed.',
	'publish.adapter.title': 'Publish the adapter to the Hub',
	'publish.dataset.title': 'Publish the dataset to the Hub',
	'publish.button': 'Publish to the Hub',
	'publish.repo': 'Repository (owner/name)',
	'publish.private': 'Private repo',
	'publish.privateHint':
		'A share link to a private repo opens only for people who can read it (signed in with access).',
	'publish.existing': 'Update it if it exists (a repo of yours)',
	'publish.license': 'License (optional, e.g. apache-2.0)',
	'publish.start': 'Publish',
	'publish.files': 'Files',
	'publish.needToken': 'Add a Hugging Face access token in Settings first.',
	'publish.toSettings': 'Open Settings',
	'publish.progress': '{loaded} of {total}',
	'publish.eta': 'about {eta} left',
	'publish.phase.creating': 'Creating the repo…',
	'publish.phase.preuploading': 'Preparing the upload…',
	'publish.phase.uploadingLargeFiles': 'Uploading large files…',
	'publish.phase.committing': 'Committing…',
	'publish.phase.done': 'Done',
	'publish.done': 'Published {repo} at commit {revision}.',
	'publish.open': 'Open on the Hub',
	'publish.published': 'Published: {repo}',
	'share.local.title': 'This chat uses an adapter that exists only in this browser',
	'share.local.help':
		'“{name}” was trained or imported here. A link can only name an adapter published on the Hub: publish it first, or share without it.',
	'share.local.publish': 'Publish it first',
	'share.local.usePublished': 'Use the published copy {repo}@{revision}',
	'share.local.decline': 'Share without the adapter',
	'share.baseOnly':
		'This link opens the base model only: the adapter “{name}” is not included, so the recipient will not chat with the trained character.'
};

export const hubJa: Record<keyof typeof hubEn, string> = {
	'hub.account.title': 'Hugging Face アカウント（公開用）',
	'hub.account.help':
		'アダプターやデータセットを公開するには、書き込み権限のある Hugging Face のアクセストークン（huggingface.co → Settings → Access Tokens）を貼り付けてください。トークンはこのブラウザーの中だけに保存され、共有リンクやエクスポートには含まれません。',
	'hub.token.label': 'アクセストークン',
	'hub.token.save': '確認して保存',
	'hub.token.checking': '確認中…',
	'hub.token.remove': 'トークンを削除',
	'hub.token.signedIn': '{name} としてサインイン中',
	'hub.token.stored': 'トークン {masked}（{via}）',
	'hub.token.viaToken': 'アクセストークン',
	'hub.token.viaOauth': 'Hugging Face でサインイン',
	'hub.token.hub': '公開先は {hub} です（ミラーを設定している場合はミラー）。',
	'hub.oauth.clientId': 'OAuth クライアント ID',
	'hub.oauth.help':
		'このスタジオが Hugging Face の OAuth アプリに登録されたオリジンから配信されている場合のみ：クライアント ID を入力すると、トークンなしでサインインできます。',
	'hub.oauth.login': 'Hugging Face でサインイン',
	'hub.error.badToken':
		'Hub がアクセストークンを拒否しました（401）。設定で確認するか、書き込み権限のある新しいトークンを作成してください。',
	'hub.error.forbidden':
		'書き込み権限がありません（403）：その名前空間やリポジトリは他の人のものか、このトークンでは書き込めません。',
	'hub.error.taken':
		'この名前のリポジトリはすでにあります（409）。別の名前にするか、自分のリポジトリなら「あれば更新する」にチェックしてください。',
	'hub.error.offline': 'Hub に接続できません。ネットワーク接続を確認してください。',
	'hub.error.notFound': 'Hub にそのリポジトリまたはリビジョンがありません（404）。',
	'hub.error.invalidName':
		'リポジトリ名が正しくありません：owner/name の形（英数字と - _ .）にしてください。例：your-name/socrates-lora',
	'hub.error.failed': '公開できませんでした。',
	'publish.adapter.title': 'アダプターを Hub に公開',
	'publish.dataset.title': 'データセットを Hub に公開',
	'publish.button': 'Hub に公開',
	'publish.repo': 'リポジトリ（owner/name）',
	'publish.private': '非公開リポジトリ',
	'publish.privateHint':
		'非公開リポジトリへの共有リンクは、読み取り権限のある人（アクセス権を持ってサインインした人）しか開けません。',
	'publish.existing': 'あれば更新する（自分のリポジトリ）',
	'publish.license': 'ライセンス（任意、例：apache-2.0）',
	'publish.start': '公開する',
	'publish.files': 'ファイル',
	'publish.needToken': '先に設定で Hugging Face のアクセストークンを追加してください。',
	'publish.toSettings': '設定を開く',
	'publish.progress': '{total} 中 {loaded}',
	'publish.eta': '残り約 {eta}',
	'publish.phase.creating': 'リポジトリを作成中…',
	'publish.phase.preuploading': 'アップロードの準備中…',
	'publish.phase.uploadingLargeFiles': '大きなファイルをアップロード中…',
	'publish.phase.committing': 'コミット中…',
	'publish.phase.done': '完了',
	'publish.done': '{repo} をコミット {revision} で公開しました。',
	'publish.open': 'Hub で開く',
	'publish.published': '公開済み：{repo}',
	'share.local.title': 'このチャットは、このブラウザーの中にしかないアダプターを使っています',
	'share.local.help':
		'「{name}」はここで学習またはインポートされたものです。リンクで指定できるのは Hub に公開されたアダプターだけです。先に公開するか、アダプターなしで共有してください。',
	'share.local.publish': '先に公開する',
	'share.local.usePublished': '公開済みのコピー {repo}@{revision} を使う',
	'share.local.decline': 'アダプターなしで共有',
	'share.baseOnly':
		'このリンクはベースモデルだけを開きます。アダプター「{name}」は含まれないため、受け取った人は学習したキャラクターとはチャットできません。'
};
