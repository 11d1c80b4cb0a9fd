using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MqttIm.Contracts.V1;
using MqttIm.ImExtensions.Delivery;
using MqttIm.ImExtensions.Diagnostics;
using MqttIm.ImExtensions.Messaging;

namespace MqttIm.ImExtensions.Groups;

/// <summary>
/// Large groups are read-diffused: a message is stored once, and each online member gets at most one merged
/// "conversation X is now at seq N" hint per interval, then pulls with sync. No per-member copy is written.
/// </summary>
internal sealed class LargeGroupHints(
    GroupDirectory directory,
    IOnlineRouter router,
    IOptions<GroupOptions> options,
    ILogger<LargeGroupHints> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, long> _pending = new(StringComparer.Ordinal);

    /// <summary>Records that the group reached <paramref name="seq"/>; the next tick tells its online members.</summary>
    public void Notify(string groupId, long seq) =>
        _pending.AddOrUpdate(groupId, seq, (_, known) => Math.Max(known, seq));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(options.Value.HintIntervalMs));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                foreach (var groupId in _pending.Keys)
                {
                    if (_pending.TryRemove(groupId, out var seq))
                    {
                        await SendHintsAsync(groupId, seq, stoppingToken).ConfigureAwait(false);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task SendHintsAsync(string groupId, long seq, CancellationToken cancellationToken)
    {
        try
        {
            var snapshot = await directory.GetAsync(groupId, cancellationToken).ConfigureAwait(false);
            if (snapshot is null)
            {
                return;
            }

            var hint = new OutboundEvent(new InboxEvent { Hint = new ConversationHint { ConversationId = snapshot.ConversationId, MaxSeq = seq } });
            var delivered = 0;
            foreach (var userId in snapshot.Members.Keys)
            {
                delivered += await router.RouteAsync(userId, hint, exceptClientId: null, cancellationToken).ConfigureAwait(false);
            }

            ImMetrics.InboxDeliveries.Inc(delivered);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogError(ex, "Hints for group {GroupId} failed; members still converge by sync", groupId);
        }
    }
}
