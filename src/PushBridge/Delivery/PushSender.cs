using Microsoft.Extensions.Logging;
using MqttIm.PushBridge.Diagnostics;
using MqttIm.PushBridge.Jobs;
using MqttIm.PushBridge.Outcomes;
using MqttIm.PushBridge.Scheduling;
using MqttIm.PushBridge.Tokens;
using MqttIm.PushBridge.Vendors;
using Polly;
using Polly.Retry;

namespace MqttIm.PushBridge.Delivery;

/// <summary>
/// Sends one due job to every device of its user. Per device its tokens are tried in preference order: a dead token is
/// removed and the next one tried (failover), a 429/5xx is retried with backoff honouring Retry-After (only the tokens
/// that need it), anything else fails over too. Every token's final answer is recorded and counted.
/// </summary>
internal sealed class PushSender
{
    private readonly IPushTokenStore _tokens;
    private readonly IPushOutcomeStore _outcomes;
    private readonly PushChannelRegistry _channels;
    private readonly IBadgeCounter _badges;
    private readonly DeviceRateLimiter _rateLimiter;
    private readonly PushOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline<Round>? _retry;

    public PushSender(IPushTokenStore tokens, IPushOutcomeStore outcomes, PushChannelRegistry channels, IBadgeCounter badges,
        DeviceRateLimiter rateLimiter, PushOptions options, TimeProvider time, ILogger<PushSender> logger)
    {
        (_tokens, _outcomes, _channels, _badges, _rateLimiter, _options, _time, _logger) = (tokens, outcomes, channels, badges, rateLimiter, options, time, logger);
        if (options.MaxRetries > 0)
        {
            _retry = new ResiliencePipelineBuilder<Round> { TimeProvider = time }.AddRetry(new RetryStrategyOptions<Round>
            {
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Result is { Pending: > 0 }),
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                Delay = options.RetryBaseDelay,
                UseJitter = true,
                MaxDelay = options.MaxRetryAfter,
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Result?.RetryAfter is { } after ? Min(after, options.MaxRetryAfter) : (TimeSpan?)null),
                OnRetry = args =>
                {
                    PushMetrics.Retries.WithLabels(args.Outcome.Result?.Vendor ?? "").Inc();
                    return ValueTask.CompletedTask;
                },
            }).Build();
        }
    }

    /// <summary>Sends the job now, or returns when it must wait for a device's rate limit (nothing sent then).</summary>
    public async Task<DateTimeOffset?> SendAsync(PushJob job, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var tokens = await _tokens.GetForUserAsync(job.UserId, cancellationToken).ConfigureAwait(false);
        if (tokens.Count == 0)
        {
            await RecordAsync(job, null, PushResults.NoToken, "the user has no push token", 0, cancellationToken).ConfigureAwait(false);
            return null;
        }

        var devices = tokens.GroupBy(t => t.DeviceId, StringComparer.Ordinal).Select(g => g.OrderBy(t => t.Preference).ToList()).ToList();
        if (job.Priority > 0)
        {
            var wait = devices.Select(d => _rateLimiter.NextAllowed(DeviceKey(d[0]), now)).Max();
            if (wait > now)
            {
                PushMetrics.Deferred.WithLabels("rate_limit").Inc();
                return wait;
            }
        }

        foreach (var device in devices)
        {
            _rateLimiter.Record(DeviceKey(device[0]), now);
        }

        var badge = await _badges.TotalUnreadAsync(job.UserId, cancellationToken).ConfigureAwait(false);
        // Round k sends the k-th choice of every device not yet reached; per (vendor, app) in one channel call (HMS batches them).
        var remaining = devices;
        for (var round = 0; remaining.Count > 0; round++)
        {
            var candidates = remaining.Where(d => d.Count > round).Select(d => d[round]).ToList();
            if (candidates.Count == 0)
            {
                break;
            }

            var reached = new HashSet<string>(StringComparer.Ordinal);
            await Task.WhenAll(candidates.GroupBy(t => (t.Vendor, t.AppId)).Select(async group =>
            {
                foreach (var delivered in await SendToAppAsync(job, group.Key.Vendor, group.Key.AppId, group.ToList(), badge, cancellationToken).ConfigureAwait(false))
                {
                    lock (reached)
                    {
                        reached.Add(delivered.DeviceId);
                    }
                }
            })).ConfigureAwait(false);
            remaining = remaining.Where(d => !reached.Contains(d[0].DeviceId)).ToList();
        }

        return null;
    }

    /// <summary>Sends to tokens of one app; returns the tokens that were delivered.</summary>
    private async Task<List<PushToken>> SendToAppAsync(PushJob job, string vendor, string appId, List<PushToken> tokens, int badge, CancellationToken cancellationToken)
    {
        var channel = _channels.Find(vendor, appId);
        if (channel is null)
        {
            foreach (var token in tokens)
            {
                await RecordAsync(job, token, PushResults.NoChannel, $"no {vendor} app '{appId}' is configured", 0, cancellationToken).ConfigureAwait(false);
            }

            return [];
        }

        var finals = new Dictionary<PushToken, (VendorReply Reply, int Attempts)>();
        var started = _time.GetTimestamp();
        // Privacy is per device, so a private and a normal device of one app get different notifications.
        foreach (var privacyGroup in tokens.GroupBy(t => t.Privacy))
        {
            var (title, body) = PushTextComposer.Compose(job, privacyGroup.Key);
            var notification = new PushNotification(title, body, badge, job.CollapseId, job.Priority,
                _time.GetUtcNow() + (job.Priority == 0 ? TimeSpan.FromHours(1) : _options.NotificationTimeToLive),
                new Dictionary<string, string> { ["conversationId"] = job.ConversationId, ["pushId"] = job.Id, ["count"] = job.MessageCount.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            var pending = privacyGroup.ToList();
            var attempts = 0;
            async ValueTask<Round> AttemptAsync(CancellationToken ct)
            {
                attempts++;
                IReadOnlyList<VendorReply> replies;
                try
                {
                    replies = await channel.SendAsync(notification, pending.Select(t => new VendorTarget(t.Token, t.Environment)).ToList(), ct).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
                {
                    replies = pending.Select(_ => new VendorReply(VendorReplyKind.Retryable, "network: " + ex.Message)).ToList();
                }

                TimeSpan? retryAfter = null;
                var stillPending = new List<PushToken>();
                for (var i = 0; i < pending.Count; i++)
                {
                    finals[pending[i]] = (replies[i], attempts);
                    if (replies[i].Kind == VendorReplyKind.Retryable)
                    {
                        stillPending.Add(pending[i]);
                        retryAfter = replies[i].RetryAfter is { } after && (retryAfter is null || after > retryAfter) ? after : retryAfter;
                    }
                }

                pending = stillPending;
                return new Round(vendor, pending.Count, retryAfter);
            }

            if (_retry is null)
            {
                await AttemptAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await _retry.ExecuteAsync(AttemptAsync, cancellationToken).ConfigureAwait(false);
            }
        }

        PushMetrics.VendorSeconds.WithLabels(vendor).Observe(_time.GetElapsedTime(started).TotalSeconds);
        var delivered = new List<PushToken>();
        foreach (var (token, (reply, attempts)) in finals)
        {
            switch (reply.Kind)
            {
                case VendorReplyKind.Delivered:
                    delivered.Add(token);
                    await RecordAsync(job, token, PushResults.Delivered, "", attempts, cancellationToken).ConfigureAwait(false);
                    break;
                case VendorReplyKind.TokenGone:
                    await _tokens.RemoveAsync(token.Vendor, token.Token, cancellationToken).ConfigureAwait(false);
                    await RecordAsync(job, token, PushResults.TokenRemoved, reply.Detail, attempts, cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    PushLog.SendFailed(_logger, vendor, appId, job.UserId, reply.Detail);
                    await RecordAsync(job, token, PushResults.Failed, reply.Detail, attempts, cancellationToken).ConfigureAwait(false);
                    break;
            }
        }

        return delivered;
    }

    private async Task RecordAsync(PushJob job, PushToken? token, string result, string detail, int attempts, CancellationToken cancellationToken)
    {
        PushMetrics.Outcomes.WithLabels(token?.Vendor ?? "", result).Inc();
        await _outcomes.AddAsync(new PushOutcome(job.Id, job.UserId, job.MessageIds, token?.Vendor ?? "", token?.AppId ?? "", token?.Token ?? "",
            result, detail, attempts, _time.GetUtcNow().ToUnixTimeMilliseconds()), cancellationToken).ConfigureAwait(false);
    }

    private static string DeviceKey(PushToken token) => token.UserId + "\n" + token.DeviceId;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>One attempt's leftovers: how many tokens still want a retry and the longest Retry-After among them.</summary>
    internal sealed record Round(string Vendor, int Pending, TimeSpan? RetryAfter);
}
