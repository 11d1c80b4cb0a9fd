using System.Collections.Concurrent;
using MqttIm.ImExtensions.Devices.Storage;

namespace MqttIm.ImExtensions.Devices;

/// <summary>Synchronous HTTP callers waiting for a command to reach a final state.</summary>
/// <remarks>
/// A completed waiter stays until its caller forgets it, so a caller that registered before issuing gets the final
/// state even when it came before the caller started to wait (no store read to cover that gap).
/// </remarks>
internal sealed class CommandWaiters
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<CommandRecord>> _waiting = new(StringComparer.Ordinal);

    /// <summary>Registers interest (before the command is sent, so a fast reply is not missed); every caller must <see cref="Forget"/> it.</summary>
    public Task<CommandRecord> Register(string commandId) =>
        _waiting.GetOrAdd(commandId, _ => new TaskCompletionSource<CommandRecord>(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public bool IsWaiting(string commandId) => _waiting.TryGetValue(commandId, out var waiter) && !waiter.Task.IsCompleted;

    public void Forget(string commandId) => _waiting.TryRemove(commandId, out _);

    public void Completed(CommandRecord command)
    {
        if (!command.IsOpen && _waiting.TryGetValue(command.CommandId, out var waiter))
        {
            waiter.TrySetResult(command);
        }
    }
}
