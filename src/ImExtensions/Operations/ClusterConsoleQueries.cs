using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MqttIm.ImExtensions.Cluster;
using StackExchange.Redis;
using ClusterNode = MqttIm.ImExtensions.Cluster.ClusterNode;

namespace MqttIm.ImExtensions.Operations;

/// <summary>
/// The console's Clients and Subscriptions views for the whole cluster, from whichever node serves the console: it asks
/// every other live node over Redis (a question on that node's console channel, the answer back on the asker's own),
/// waits at most <see cref="AnswerTimeout"/>, and merges the answers with its own view; a node that did not answer in
/// time is named in the result. A disconnect is tried here first, then asked of the other nodes. On a single node
/// every call is answered locally.
/// </summary>
/// <remarks>
/// Why questions over Redis rather than an HTTP fan-out or a client directory in Redis: the nodes already share and
/// trust Redis, while the registry holds no internal HTTP address and nodes need not share a network path or an admin
/// key to each other's HTTP ports; and a directory would cost every connect and disconnect a write for a page that is
/// rarely open, where a question costs nothing until someone looks. Each node answers with at most the asked limit, so
/// an answer stays small whatever a node holds.
/// </remarks>
internal sealed partial class ClusterConsoleQueries(IServiceProvider services, ClusterNode self, ILocalClients local, ClientSubscriptions subscriptions, ILogger<ClusterConsoleQueries> logger)
    : IHostedService
{
    public static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<string, PendingQuestion> _pending = new(StringComparer.Ordinal);
    private IConnectionMultiplexer? _redis;
    private RedisKeys? _keys;
    private ClusterNodeRegistry? _nodes;

    /// <summary>Connected clients on every node matching the search, newest first, at most <paramref name="limit"/>; <c>Total</c> counts every match.</summary>
    public async Task<ConsoleListing<ConnectedClientView>> ListClientsAsync(string? search, int limit)
    {
        var (mine, total) = await local.ListAsync(search, limit).ConfigureAwait(false);
        var all = mine.Select(c => c with { NodeId = self.NodeId }).ToList();
        var (answers, unanswered) = await AskOthersAsync(ConsoleQuery.Clients, search, limit, null).ConfigureAwait(false);
        foreach (var answer in answers)
        {
            all.AddRange((answer.Clients ?? []).Select(c => c with { NodeId = answer.NodeId }));
            total += answer.Total;
        }

        var page = all.OrderByDescending(c => c.ConnectedMs).ThenBy(c => c.ClientId, StringComparer.Ordinal).Take(limit).ToList();
        return new ConsoleListing<ConnectedClientView>(page, total, unanswered);
    }

    /// <summary>Granted filters of every node's sessions matching the search, by filter then client id, at most <paramref name="limit"/>.</summary>
    public async Task<ConsoleListing<ClientSubscriptionView>> ListSubscriptionsAsync(string? search, int limit)
    {
        var (mine, total) = subscriptions.List(search, limit);
        var all = mine.Select(s => s with { NodeId = self.NodeId }).ToList();
        var (answers, unanswered) = await AskOthersAsync(ConsoleQuery.Subscriptions, search, limit, null).ConfigureAwait(false);
        foreach (var answer in answers)
        {
            all.AddRange((answer.Subscriptions ?? []).Select(s => s with { NodeId = answer.NodeId }));
            total += answer.Total;
        }

        var page = all.OrderBy(s => s.Filter, StringComparer.Ordinal).ThenBy(s => s.ClientId, StringComparer.Ordinal).ThenBy(s => s.NodeId, StringComparer.Ordinal)
            .Take(limit).ToList();
        return new ConsoleListing<ClientSubscriptionView>(page, total, unanswered);
    }

    /// <summary>Disconnects the client on whichever node holds it; false when no node that answered does.</summary>
    public async Task<bool> DisconnectAsync(string clientId)
    {
        if (await local.DisconnectAsync(clientId).ConfigureAwait(false))
        {
            return true;
        }

        var (answers, _) = await AskOthersAsync(ConsoleQuery.Disconnect, null, 0, clientId).ConfigureAwait(false);
        return answers.Any(a => a.Disconnected);
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!self.IsClustered)
        {
            return;
        }

        _redis = services.GetRequiredService<IConnectionMultiplexer>();
        _keys = services.GetRequiredService<RedisKeys>();
        _nodes = services.GetRequiredService<ClusterNodeRegistry>();
        var subscriber = _redis.GetSubscriber();
        (await subscriber.SubscribeAsync(_keys.ConsoleAnswers(self.NodeId)).ConfigureAwait(false)).OnMessage(OnAnswer);
        (await subscriber.SubscribeAsync(_keys.ConsoleQueries(self.NodeId)).ConfigureAwait(false)).OnMessage(OnQuestionAsync);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_redis is not null && _keys is not null)
        {
            var subscriber = _redis.GetSubscriber();
            await subscriber.UnsubscribeAsync(_keys.ConsoleAnswers(self.NodeId)).ConfigureAwait(false);
            await subscriber.UnsubscribeAsync(_keys.ConsoleQueries(self.NodeId)).ConfigureAwait(false);
        }
    }

    private async Task<(IReadOnlyList<ConsoleAnswer> Answers, IReadOnlyList<string> Unanswered)> AskOthersAsync(string op, string? search, int limit, string? clientId)
    {
        if (_redis is null || _keys is null || _nodes?.LiveNodes is not { } live)
        {
            return ([], []);
        }

        var others = live.Keys.Where(n => n != self.NodeId).Order(StringComparer.Ordinal).ToList();
        if (others.Count == 0)
        {
            return ([], []);
        }

        var question = new ConsoleQuery(Guid.NewGuid().ToString("N"), op, self.NodeId, search, limit, clientId);
        var pending = new PendingQuestion(others.Count);
        _pending[question.Id] = pending;
        try
        {
            var payload = JsonSerializer.Serialize(question);
            var subscriber = _redis.GetSubscriber();
            await Task.WhenAll(others.Select(n => subscriber.PublishAsync(_keys.ConsoleQueries(n), payload))).ConfigureAwait(false);
            await pending.AllAnswered.WaitAsync(AnswerTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Whoever answered in time is shown; the rest are named.
        }
        catch (RedisException ex)
        {
            LogQuestionFailed(logger, ex, op);
        }
        finally
        {
            _pending.TryRemove(question.Id, out _);
        }

        var answers = pending.Answers;
        var answered = answers.Select(a => a.NodeId).ToHashSet(StringComparer.Ordinal);
        return (answers, [.. others.Where(n => !answered.Contains(n))]);
    }

    private void OnAnswer(ChannelMessage message)
    {
        try
        {
            if (JsonSerializer.Deserialize<ConsoleAnswer>(message.Message.ToString()) is { } answer && _pending.TryGetValue(answer.Id, out var pending))
            {
                pending.Add(answer);
            }
        }
        catch (JsonException ex)
        {
            LogBadMessage(logger, ex);
        }
    }

    private async Task OnQuestionAsync(ChannelMessage message)
    {
        try
        {
            if (JsonSerializer.Deserialize<ConsoleQuery>(message.Message.ToString()) is not { } question || _redis is null || _keys is null)
            {
                return;
            }

            var limit = Math.Clamp(question.Limit, 0, 1000);
            var answer = question.Op switch
            {
                ConsoleQuery.Clients => await ClientsAnswerAsync(question, limit).ConfigureAwait(false),
                ConsoleQuery.Subscriptions => SubscriptionsAnswer(question, limit),
                ConsoleQuery.Disconnect => new ConsoleAnswer(question.Id, self.NodeId, 0, null, null,
                    !string.IsNullOrEmpty(question.ClientId) && await local.DisconnectAsync(question.ClientId).ConfigureAwait(false)),
                _ => null,
            };
            if (answer is not null)
            {
                await _redis.GetSubscriber().PublishAsync(_keys.ConsoleAnswers(question.AskedBy), JsonSerializer.Serialize(answer)).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is JsonException or RedisException or TimeoutException)
        {
            LogBadMessage(logger, ex);
        }
    }

    private async Task<ConsoleAnswer> ClientsAnswerAsync(ConsoleQuery question, int limit)
    {
        var (clients, total) = await local.ListAsync(question.Search, Math.Max(limit, 1)).ConfigureAwait(false);
        return new ConsoleAnswer(question.Id, self.NodeId, total, clients, null, false);
    }

    private ConsoleAnswer SubscriptionsAnswer(ConsoleQuery question, int limit)
    {
        var (list, total) = subscriptions.List(question.Search, Math.Max(limit, 1));
        return new ConsoleAnswer(question.Id, self.NodeId, total, null, list, false);
    }

    [LoggerMessage(920, LogLevel.Warning, "Console question {Op} to the other nodes failed")]
    private static partial void LogQuestionFailed(ILogger logger, Exception exception, string op);

    [LoggerMessage(921, LogLevel.Warning, "A console message between nodes could not be handled")]
    private static partial void LogBadMessage(ILogger logger, Exception exception);

    /// <summary>The answers to one question as they arrive; complete once every asked node answered.</summary>
    private sealed class PendingQuestion(int expected)
    {
        private readonly ConcurrentDictionary<string, ConsoleAnswer> _answers = new(StringComparer.Ordinal);
        private readonly TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task AllAnswered => _all.Task;

        public IReadOnlyList<ConsoleAnswer> Answers => [.. _answers.Values];

        public void Add(ConsoleAnswer answer)
        {
            if (_answers.TryAdd(answer.NodeId, answer) && _answers.Count >= expected)
            {
                _all.TrySetResult();
            }
        }
    }
}
