package tlog

// The MySQL backend keeps the log in a MySQL or MariaDB database, for
// deployments that outgrow one machine's disk. Several `hallmark serve`
// replicas may open one database and append at once, and any of them serves
// reads: each tile, entry bundle and checkpoint is one row, read by key.
//
// It is Tessera's MySQL driver (storage/mysql), which sequences and
// integrates each batch in one InnoDB transaction that first locks the single
// TreeState row (SELECT ... FOR UPDATE). Appenders in any number of processes
// are so serialised by the database: every index is given once and the tree
// only grows. Replicas add availability and spread signing, verification and
// HTTP work, not write throughput. Whichever replica is due publishes the
// checkpoint, under a lock on the Checkpoint row, so all replicas must share
// the origin and log key. Without InnoDB's row locks (another engine, or
// Galera multi-primary) none of this holds; OpenMySQL refuses other engines.
//
// The driver neither creates nor exposes its schema, so OpenMySQL applies
// mysqlSchema, a copy of Tessera v1.0.4's storage/mysql/schema.sql, and
// writes the empty tree's state as the driver would: the driver's own first
// write (a locking read of the missing row, then an insert) deadlocks when
// two replicas start together on a new database. All of it is idempotent.
//
// Tessera publishes checkpoints at most once a second on MySQL, so Append
// takes one to two checkpoint intervals. An acknowledged append is a committed
// transaction, durable as the server's innodb_flush_log_at_trx_commit=1 (its
// default) makes it. Tessera tests the driver on MySQL 8.4; Hallmark tests it
// on MariaDB 10.11 (TestMySQL, server from HALLMARK_TEST_MYSQL_DSN).

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/storage/mysql"
)

// mysqlMinCheckpointInterval is the shortest checkpoint interval Tessera's
// MySQL driver accepts.
const mysqlMinCheckpointInterval = time.Second

// OpenMySQL opens, creating its tables if needed, the log stored in the
// database that db is connected to (its DSN must name a database; the driver
// needs no other DSN parameters). Several processes may append to one
// database. The caller keeps db open until the log is closed, and closes it.
// Bound db's pool (SetMaxOpenConns) below the server's max_connections,
// shared among replicas: every Append in flight reads tiles through it.
//
// cfg.CheckpointInterval defaults to one second here, Tessera's minimum for
// MySQL; a shorter one is an error.
func OpenMySQL(ctx context.Context, db *sql.DB, cfg Config) (*Log, error) {
	if cfg.CheckpointInterval == 0 {
		cfg.CheckpointInterval = mysqlMinCheckpointInterval
	}
	if cfg.CheckpointInterval < mysqlMinCheckpointInterval {
		return nil, fmt.Errorf("tlog: checkpoint interval %v is below %v, the shortest Tessera's MySQL driver accepts", cfg.CheckpointInterval, mysqlMinCheckpointInterval)
	}
	for _, stmt := range mysqlSchema {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return nil, fmt.Errorf("tlog: creating MySQL tables: %w", err)
		}
	}
	var engine string
	err := db.QueryRowContext(ctx, "SELECT `ENGINE` FROM information_schema.`TABLES` "+
		"WHERE `TABLE_SCHEMA` = DATABASE() AND LOWER(`TABLE_NAME`) = 'treestate'").Scan(&engine)
	if err != nil {
		return nil, fmt.Errorf("tlog: MySQL table TreeState: %w", err)
	}
	if !strings.EqualFold(engine, "InnoDB") {
		return nil, fmt.Errorf("tlog: MySQL table TreeState uses the %s engine; the log needs InnoDB's transactions and row locks", engine)
	}
	drv, err := mysql.New(ctx, db) // checks the schema's compatibility version
	if err != nil {
		return nil, fmt.Errorf("tlog: opening MySQL log: %w", err)
	}
	// INSERT IGNORE takes no gap lock, unlike the driver's first write.
	empty := rfc6962.DefaultHasher.EmptyRoot()
	if _, err := db.ExecContext(ctx, "INSERT IGNORE INTO `TreeState` (`id`, `size`, `root`) VALUES (0, 0, ?)", empty); err != nil {
		return nil, fmt.Errorf("tlog: creating MySQL tree state: %w", err)
	}
	return open(ctx, drv, cfg)
}

// mysqlSchema is Tessera v1.0.4's storage/mysql/schema.sql, one statement per
// element (so the DSN needs no multiStatements), without its comments.
// Compatibility version 1 is the one the driver checks for.
var mysqlSchema = []string{
	"CREATE TABLE IF NOT EXISTS Tessera (" +
		"`id` TINYINT UNSIGNED NOT NULL, " +
		"`compatibilityVersion` BIGINT UNSIGNED NOT NULL, " +
		"PRIMARY KEY (`id`))",
	"INSERT IGNORE INTO Tessera (`id`, `compatibilityVersion`) VALUES (0, 1)",
	"CREATE TABLE IF NOT EXISTS `Checkpoint` (" +
		"`id` TINYINT UNSIGNED NOT NULL, " +
		"`note` MEDIUMBLOB NOT NULL, " +
		"`published_at` BIGINT NOT NULL, " +
		"PRIMARY KEY(`id`))",
	"CREATE TABLE IF NOT EXISTS `TreeState` (" +
		"`id` TINYINT UNSIGNED NOT NULL, " +
		"`size` BIGINT UNSIGNED NOT NULL, " +
		"`root` TINYBLOB NOT NULL, " +
		"PRIMARY KEY(`id`))",
	"CREATE TABLE IF NOT EXISTS `Subtree` (" +
		"`level` TINYINT UNSIGNED NOT NULL, " +
		"`index` BIGINT UNSIGNED NOT NULL, " +
		"`nodes` MEDIUMBLOB NOT NULL, " +
		"PRIMARY KEY(`level`, `index`))",
	"CREATE TABLE IF NOT EXISTS `TiledLeaves` (" +
		"`tile_index` BIGINT UNSIGNED NOT NULL, " +
		"`size` SMALLINT UNSIGNED NOT NULL, " +
		"`data` LONGBLOB NOT NULL, " +
		"PRIMARY KEY(`tile_index`))",
}
