-- The SQLite schema of the previous release (5e8cc88, contracts v1): what its create_all made
-- from its backend/models.py (sqlite3 var/einvoice.sqlite .schema); no alembic_version table.
-- tests/backend/test_backend_migrations.py upgrades such a database; do not edit.
CREATE TABLE users (
	id INTEGER NOT NULL,
	username VARCHAR(64) NOT NULL,
	password_hash VARCHAR(256) NOT NULL,
	role VARCHAR(16) NOT NULL,
	address VARCHAR(42),
	api_token_hash VARCHAR(64),
	buyer_tax_id VARCHAR(20),
	active BOOLEAN NOT NULL,
	created_at DATETIME NOT NULL,
	PRIMARY KEY (id),
	UNIQUE (username),
	UNIQUE (address),
	UNIQUE (api_token_hash)
);
CREATE INDEX ix_users_role ON users (role);
CREATE TABLE number_sequences (
	prefix VARCHAR(5) NOT NULL,
	last BIGINT NOT NULL,
	PRIMARY KEY (prefix)
);
CREATE TABLE outbox (
	id INTEGER NOT NULL,
	chain_id INTEGER NOT NULL,
	sender VARCHAR(42) NOT NULL,
	nonce BIGINT NOT NULL,
	tx_hash VARCHAR(66) NOT NULL,
	raw_tx TEXT NOT NULL,
	contract VARCHAR(64) NOT NULL,
	function VARCHAR(64) NOT NULL,
	ref VARCHAR(80),
	status VARCHAR(12) NOT NULL,
	block_number BIGINT,
	gas_used BIGINT,
	broadcasts INTEGER NOT NULL,
	error TEXT,
	created_at DATETIME NOT NULL,
	updated_at DATETIME NOT NULL,
	PRIMARY KEY (id),
	UNIQUE (sender, nonce, chain_id),
	UNIQUE (tx_hash)
);
CREATE INDEX ix_outbox_sender ON outbox (sender);
CREATE INDEX ix_outbox_status ON outbox (status);
CREATE INDEX ix_outbox_ref ON outbox (ref);
CREATE TABLE chain_events (
	id INTEGER NOT NULL,
	contract VARCHAR(64) NOT NULL,
	event VARCHAR(64) NOT NULL,
	block_number BIGINT NOT NULL,
	block_time BIGINT,
	tx_hash VARCHAR(66) NOT NULL,
	log_index INTEGER NOT NULL,
	invoice_key VARCHAR(66),
	related_key VARCHAR(66),
	account VARCHAR(42),
	args TEXT NOT NULL,
	PRIMARY KEY (id),
	UNIQUE (tx_hash, log_index)
);
CREATE INDEX ix_chain_events_account ON chain_events (account);
CREATE INDEX ix_chain_events_block_number ON chain_events (block_number);
CREATE INDEX ix_chain_events_event ON chain_events (event);
CREATE INDEX ix_chain_events_related_key ON chain_events (related_key);
CREATE INDEX ix_chain_events_invoice_key ON chain_events (invoice_key);
CREATE INDEX ix_chain_events_contract ON chain_events (contract);
CREATE TABLE indexer_cursors (
	name VARCHAR(64) NOT NULL,
	last_block BIGINT NOT NULL,
	chain_id INTEGER,
	block_hash VARCHAR(66),
	PRIMARY KEY (name)
);
CREATE TABLE merchants (
	id INTEGER NOT NULL,
	user_id INTEGER NOT NULL,
	name VARCHAR(200) NOT NULL,
	tax_id VARCHAR(18) NOT NULL,
	licence_number VARCHAR(64) NOT NULL,
	status VARCHAR(16) NOT NULL,
	note TEXT,
	created_at DATETIME NOT NULL,
	updated_at DATETIME NOT NULL,
	PRIMARY KEY (id),
	UNIQUE (user_id),
	FOREIGN KEY(user_id) REFERENCES users (id),
	UNIQUE (tax_id)
);
CREATE TABLE invoices (
	id INTEGER NOT NULL,
	number VARCHAR(20) NOT NULL,
	"key" VARCHAR(66) NOT NULL,
	user_id INTEGER,
	seller_address VARCHAR(42) NOT NULL,
	seller_name VARCHAR(200) NOT NULL,
	seller_tax_id VARCHAR(18) NOT NULL,
	buyer_name VARCHAR(200) NOT NULL,
	buyer_tax_id VARCHAR(20) NOT NULL,
	issue_date VARCHAR(10) NOT NULL,
	issued_at BIGINT NOT NULL,
	invoice_type INTEGER NOT NULL,
	rate INTEGER NOT NULL,
	item_count INTEGER NOT NULL,
	net NUMERIC(38, 0) NOT NULL,
	tax NUMERIC(38, 0) NOT NULL,
	gross NUMERIC(38, 0) NOT NULL,
	document TEXT NOT NULL,
	document_hash VARCHAR(66) NOT NULL,
	is_red_letter BOOLEAN NOT NULL,
	original_number VARCHAR(20),
	state VARCHAR(12) NOT NULL,
	chain_status VARCHAR(16),
	flags INTEGER NOT NULL,
	check_code VARCHAR(20),
	outbox_id INTEGER,
	idempotency_key VARCHAR(128),
	request_fingerprint VARCHAR(64),
	error TEXT,
	created_at DATETIME NOT NULL,
	updated_at DATETIME NOT NULL,
	PRIMARY KEY (id),
	UNIQUE (user_id, idempotency_key),
	UNIQUE (number),
	UNIQUE ("key"),
	FOREIGN KEY(user_id) REFERENCES users (id),
	FOREIGN KEY(outbox_id) REFERENCES outbox (id)
);
CREATE INDEX ix_invoices_buyer_name ON invoices (buyer_name);
CREATE INDEX ix_invoices_issue_date ON invoices (issue_date);
CREATE INDEX ix_invoices_chain_status ON invoices (chain_status);
CREATE INDEX ix_invoices_created_at ON invoices (created_at);
CREATE INDEX ix_invoices_document_hash ON invoices (document_hash);
CREATE INDEX ix_invoices_buyer_tax_id ON invoices (buyer_tax_id);
CREATE INDEX ix_invoices_user_id ON invoices (user_id);
CREATE INDEX ix_invoices_original_number ON invoices (original_number);
CREATE INDEX ix_invoices_seller_address ON invoices (seller_address);
CREATE INDEX ix_invoices_state ON invoices (state);
CREATE TABLE verifications (
	id INTEGER NOT NULL,
	user_id INTEGER,
	client VARCHAR(64),
	kind VARCHAR(12) NOT NULL,
	number VARCHAR(40),
	"query" TEXT NOT NULL,
	result VARCHAR(16) NOT NULL,
	detail TEXT,
	created_at DATETIME NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(user_id) REFERENCES users (id)
);
CREATE INDEX ix_verifications_created_at ON verifications (created_at);
CREATE INDEX ix_verifications_number ON verifications (number);
CREATE INDEX ix_verifications_user_id ON verifications (user_id);
CREATE INDEX ix_verifications_result ON verifications (result);
