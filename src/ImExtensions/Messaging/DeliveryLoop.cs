using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MqttIm.Contracts.V1;

namespace MqttIm.ImExtensions.Messaging;

/// <summary>
/// Fans committed messages out on its own loop, in commit order, so the next group commit does not wait for the
/// previous batch's fan-out (a 500-member group is 500 routings per message).
/// </summary>
internal sealed class DeliveryLoop(ChatFanout fanout, ICommittedMessageObserver relations, ILogger<DeliveryLoop> logger) : BackgroundService
{
    // Bounded: when fan-out falls behind, the commit loop waits instead of memory growing without limit.
    private readonly Channel<(PendingSend Send, ChatMessage Message)> _queue =
        Channel.CreateBounded<(PendingSend, ChatMessage)>(new BoundedChannelOptions(65_536) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });

    /// <summary>Queues a committed message for delivery (called by the commit loop only, in commit order).</summary>
    public ValueTask EnqueueAsync(PendingSend send, ChatMessage message, CancellationToken cancellationToken) =>
        _queue.Writer.TryWrite((send, message)) ? ValueTask.CompletedTask : _queue.Writer.WriteAsync((send, message), cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var (send, message) in _queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await fanout.DeliverAsync(send, message, stoppingToken).ConfigureAwait(false);
                    await relations.NoteCommittedAsync(message, stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Delivery is best effort: the message is stored and devices recover it by sync.
                    logger.LogError(ex, "Delivering {ConversationId}#{Seq} failed; devices get it by sync", message.ConversationId, message.Seq);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
