using Npgsql;
using MqttIm.ImExtensions.Storage.Postgres;

namespace MqttIm.ImExtensions.BrokerState.Store;

/// <summary>Retained messages and persistent sessions in the shared PostgreSQL database (its own tables, created on first use).</summary>
internal sealed class PostgresBrokerStateStore(PostgresDatabase database) : IBrokerStateStore
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS mqttim_mqtt_retained (
            topic TEXT PRIMARY KEY, qos INTEGER NOT NULL, payload BYTEA NOT NULL, properties BYTEA, stored_ms BIGINT NOT NULL);
        CREATE TABLE IF NOT EXISTS mqttim_mqtt_sessions (
            client_id TEXT PRIMARY KEY, expiry_seconds BIGINT NOT NULL, disconnected_ms BIGINT NOT NULL);
        CREATE TABLE IF NOT EXISTS mqttim_mqtt_subscriptions (
            client_id TEXT NOT NULL, filter TEXT NOT NULL, options INTEGER NOT NULL, PRIMARY KEY (client_id, filter));
        CREATE TABLE IF NOT EXISTS mqttim_mqtt_queued (
            client_id TEXT NOT NULL, queue_id BIGINT NOT NULL, topic TEXT NOT NULL, qos INTEGER NOT NULL, payload BYTEA NOT NULL,
            properties BYTEA, stored_ms BIGINT NOT NULL, PRIMARY KEY (client_id, queue_id));
        """;

    public async Task<BrokerStateSnapshot> LoadAsync(CancellationToken cancellationToken)
    {
        await database.EnsureSchemaAsync("mqtt_state", Schema, cancellationToken).ConfigureAwait(false);
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var retained = new List<StoredMqttMessage>();
        await using (var command = new NpgsqlCommand("SELECT topic, qos, payload, properties, stored_ms FROM mqttim_mqtt_retained ORDER BY topic", connection))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                retained.Add(ReadMessage(reader, 0));
            }
        }

        var sessions = new List<StoredSession>();
        await using (var command = new NpgsqlCommand("SELECT client_id, expiry_seconds, disconnected_ms FROM mqttim_mqtt_sessions ORDER BY client_id", connection))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                sessions.Add(new StoredSession(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
            }
        }

        var subscriptions = new List<StoredSubscription>();
        await using (var command = new NpgsqlCommand("SELECT client_id, filter, options FROM mqttim_mqtt_subscriptions ORDER BY client_id, filter COLLATE \"C\"", connection))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                subscriptions.Add(new StoredSubscription(reader.GetString(0), reader.GetString(1), reader.GetInt32(2)));
            }
        }

        var queued = new List<QueuedMqttMessage>();
        await using (var command = new NpgsqlCommand(
            "SELECT client_id, queue_id, topic, qos, payload, properties, stored_ms FROM mqttim_mqtt_queued ORDER BY client_id, queue_id", connection))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                queued.Add(new QueuedMqttMessage(reader.GetString(0), reader.GetInt64(1), ReadMessage(reader, 2)));
            }
        }

        return new BrokerStateSnapshot(retained, sessions, subscriptions, queued);
    }

    public async Task ApplyAsync(IReadOnlyList<BrokerStateChange> changes, CancellationToken cancellationToken)
    {
        await database.EnsureSchemaAsync("mqtt_state", Schema, cancellationToken).ConfigureAwait(false);
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var batch = new NpgsqlBatch(connection, transaction))
        {
            foreach (var change in changes)
            {
                foreach (var command in Commands(change))
                {
                    batch.BatchCommands.Add(command);
                }
            }

            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private static IEnumerable<NpgsqlBatchCommand> Commands(BrokerStateChange change)
    {
        switch (change)
        {
            case BrokerStateChange.RetainedSet { Message: var m }:
                yield return Command("""
                    INSERT INTO mqttim_mqtt_retained (topic, qos, payload, properties, stored_ms) VALUES ($1, $2, $3, $4, $5)
                    ON CONFLICT (topic) DO UPDATE SET qos = EXCLUDED.qos, payload = EXCLUDED.payload, properties = EXCLUDED.properties, stored_ms = EXCLUDED.stored_ms
                    """, m.Topic, m.Qos, m.Payload, m.Properties, m.StoredAtMs);
                break;
            case BrokerStateChange.RetainedDeleted { Topic: var topic }:
                yield return Command("DELETE FROM mqttim_mqtt_retained WHERE topic = $1", topic);
                break;
            case BrokerStateChange.RetainedCleared:
                yield return Command("DELETE FROM mqttim_mqtt_retained");
                break;
            case BrokerStateChange.SessionSaved { Session: var s }:
                yield return Command("""
                    INSERT INTO mqttim_mqtt_sessions (client_id, expiry_seconds, disconnected_ms) VALUES ($1, $2, $3)
                    ON CONFLICT (client_id) DO UPDATE SET expiry_seconds = EXCLUDED.expiry_seconds, disconnected_ms = EXCLUDED.disconnected_ms
                    """, s.ClientId, s.ExpirySeconds, s.DisconnectedAtMs);
                break;
            case BrokerStateChange.SessionDeleted { ClientId: var c }:
                yield return Command("DELETE FROM mqttim_mqtt_sessions WHERE client_id = $1", c);
                yield return Command("DELETE FROM mqttim_mqtt_subscriptions WHERE client_id = $1", c);
                yield return Command("DELETE FROM mqttim_mqtt_queued WHERE client_id = $1", c);
                break;
            case BrokerStateChange.SubscriptionSaved { Subscription: var s }:
                yield return Command("""
                    INSERT INTO mqttim_mqtt_subscriptions (client_id, filter, options) VALUES ($1, $2, $3)
                    ON CONFLICT (client_id, filter) DO UPDATE SET options = EXCLUDED.options
                    """, s.ClientId, s.Filter, s.Options);
                break;
            case BrokerStateChange.SubscriptionDeleted d:
                yield return Command("DELETE FROM mqttim_mqtt_subscriptions WHERE client_id = $1 AND filter = $2", d.ClientId, d.Filter);
                break;
            case BrokerStateChange.MessageQueued { Queued: var q }:
                yield return Command("""
                    INSERT INTO mqttim_mqtt_queued (client_id, queue_id, topic, qos, payload, properties, stored_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)
                    ON CONFLICT (client_id, queue_id) DO NOTHING
                    """, q.ClientId, q.QueueId, q.Message.Topic, q.Message.Qos, q.Message.Payload, q.Message.Properties, q.Message.StoredAtMs);
                break;
            case BrokerStateChange.QueuedMessageDeleted d:
                yield return Command("DELETE FROM mqttim_mqtt_queued WHERE client_id = $1 AND queue_id = $2", d.ClientId, d.QueueId);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(change), change, "unknown broker state change");
        }
    }

    private static NpgsqlBatchCommand Command(string sql, params object?[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(value is null ? new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bytea } : new NpgsqlParameter { Value = value });
        }

        return command;
    }

    private static StoredMqttMessage ReadMessage(NpgsqlDataReader reader, int first) => new(
        reader.GetString(first),
        (byte[])reader[first + 2],
        reader.GetInt32(first + 1),
        reader.IsDBNull(first + 3) ? null : (byte[])reader[first + 3],
        reader.GetInt64(first + 4));
}
