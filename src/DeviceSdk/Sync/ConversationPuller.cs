namespace MqttIm.DeviceSdk.Sync;

/// <summary>
/// Runs background pulls of single conversations (large-group hints), coalesced: while a conversation's pull runs, any
/// number of further requests for it cause exactly one more pull after it, never several in parallel.
/// </summary>
internal sealed class ConversationPuller(Func<string, CancellationToken, Task> pull, Action<Exception> onError, CancellationToken stopping)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, bool> _running = new(StringComparer.Ordinal);

    /// <summary>Asks for a pull of the conversation: starts one, or marks the running one to be followed by another.</summary>
    public void Request(string conversationId)
    {
        lock (_lock)
        {
            if (_running.ContainsKey(conversationId))
            {
                _running[conversationId] = true;
                return;
            }

            _running[conversationId] = false;
        }

        _ = Task.Run(() => RunAsync(conversationId), CancellationToken.None);
    }

    /// <summary>Whether a pull of the conversation runs or is due (false once its pulls are done and none was asked for since).</summary>
    public bool IsPulling(string conversationId)
    {
        lock (_lock)
        {
            return _running.ContainsKey(conversationId);
        }
    }

    private async Task RunAsync(string conversationId)
    {
        while (true)
        {
            try
            {
                await pull(conversationId, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                lock (_lock)
                {
                    _running.Remove(conversationId);
                }

                return;
            }
            catch (Exception ex)
            {
                onError(ex);
            }

            lock (_lock)
            {
                if (!_running[conversationId])
                {
                    _running.Remove(conversationId);
                    return;
                }

                _running[conversationId] = false;
            }
        }
    }
}
