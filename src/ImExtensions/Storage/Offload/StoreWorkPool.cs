using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Prometheus;

namespace MqttIm.ImExtensions.Storage.Offload;

/// <summary>
/// Store I/O off the socket threads. Socket completions run inline (Kestrel's <c>UnsafePreferInlineScheduling</c>) and
/// Microsoft.Data.Sqlite's async calls complete synchronously, so a store call awaited straight from a hook would hold
/// the thread that serves many other connections. Work queues per <see cref="StoreWorkKind"/> to a few dedicated
/// threads (never thread-pool threads, which blocking I/O would starve); the hook awaits the result without holding a
/// thread, and continues on the thread pool. A lane is bounded: <see cref="TryRun{T}"/> refuses when it is full (RPCs
/// answer "busy"), <see cref="RunAsync{T}"/> waits for room without holding a thread (each connection handles one
/// packet at a time, so waiters are bounded by connections).
/// </summary>
internal sealed class StoreWorkPool : IDisposable
{
    private static readonly Counter Refused = Metrics.CreateCounter(
        "mqttim_store_work_refused_total", "Store work refused because its lane was full (the RPC was answered busy).", "kind");

    private static readonly Gauge Queued = Metrics.CreateGauge(
        "mqttim_store_work_queued", "Store work items waiting for a worker thread.", "kind");

    // What ran on the workers (not inline): shows store work really left the socket threads.
    private static readonly Counter Executed = Metrics.CreateCounter(
        "mqttim_store_work_executed_total", "Store work items run by the store worker threads.", "kind");

    // Set while a work item runs (and in its async continuations): work queued from inside work runs inline, so a
    // worker never waits on a lane that only it could drain.
    private static readonly AsyncLocal<bool> InWork = new();

    private readonly Lane[] _lanes;

    public StoreWorkPool(IOptions<StoreWorkOptions> options)
    {
        var value = options.Value;
        var cores = Environment.ProcessorCount;
        _lanes =
        [
            // Defaults leave cores to the sockets and the message commit: a flood of heavy reads can take half of them at most.
            new Lane(StoreWorkKind.Read, value.ReadWorkers > 0 ? value.ReadWorkers : Math.Max(1, cores / 2), value.QueueCapacity),
            new Lane(StoreWorkKind.Write, value.WriteWorkers > 0 ? value.WriteWorkers : Math.Max(1, cores / 4), value.QueueCapacity),
        ];
    }

    /// <summary>Queues <paramref name="work"/>; false (and counted) when the lane is full.</summary>
    public bool TryRun<T>(StoreWorkKind kind, Func<CancellationToken, Task<T>> work, CancellationToken cancellationToken, out Task<T> completion)
    {
        if (InWork.Value)
        {
            completion = work(cancellationToken);
            return true;
        }

        var item = new WorkItem<T>(work, cancellationToken);
        completion = item.Task;
        if (_lanes[(int)kind].TryEnqueue(item))
        {
            return true;
        }

        Refused.WithLabels(LabelOf(kind)).Inc();
        return false;
    }

    /// <summary>Queues <paramref name="work"/>, waiting (without a thread) while the lane is full.</summary>
    public async Task<T> RunAsync<T>(StoreWorkKind kind, Func<CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        if (InWork.Value)
        {
            return await work(cancellationToken).ConfigureAwait(false);
        }

        var item = new WorkItem<T>(work, cancellationToken);
        await _lanes[(int)kind].EnqueueAsync(item, cancellationToken).ConfigureAwait(false);
        return await item.Task.ConfigureAwait(false);
    }

    public void Dispose()
    {
        foreach (var lane in _lanes)
        {
            lane.Complete();
        }
    }

    private static string LabelOf(StoreWorkKind kind) => kind == StoreWorkKind.Read ? "read" : "write";

    private abstract class WorkItem
    {
        public abstract void Execute();
    }

    private sealed class WorkItem<T>(Func<CancellationToken, Task<T>> work, CancellationToken cancellationToken) : WorkItem
    {
        // Continuations go to the thread pool: the worker thread must not run the hook's (and MQTTnet's) code after it.
        private readonly TaskCompletionSource<T> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<T> Task => _completion.Task;

        public override void Execute()
        {
            if (cancellationToken.IsCancellationRequested)
            {
                _completion.TrySetCanceled(cancellationToken);
                return;
            }

            InWork.Value = true;
            try
            {
                // Synchronous stores (SQLite) run right here; truly asynchronous ones block this worker only.
                _completion.TrySetResult(work(cancellationToken).GetAwaiter().GetResult());
            }
            catch (OperationCanceledException ex)
            {
                _completion.TrySetCanceled(ex.CancellationToken);
            }
            catch (Exception ex)
            {
                _completion.TrySetException(ex);
            }
            finally
            {
                InWork.Value = false;
            }
        }
    }

    private sealed class Lane
    {
        private readonly Channel<WorkItem> _queue;
        private readonly Gauge.Child _queued;
        private readonly Counter.Child _executed;

        public Lane(StoreWorkKind kind, int workers, int capacity)
        {
            _queue = Channel.CreateBounded<WorkItem>(new BoundedChannelOptions(capacity)
            {
                FullMode = BoundedChannelFullMode.Wait,
                SingleWriter = false,
                SingleReader = workers == 1,
            });
            _queued = Queued.WithLabels(LabelOf(kind));
            _executed = Executed.WithLabels(LabelOf(kind));
            for (var i = 0; i < workers; i++)
            {
                new Thread(Work) { IsBackground = true, Name = $"mqttim-store-{LabelOf(kind)}-{i}" }.Start();
            }
        }

        public bool TryEnqueue(WorkItem item)
        {
            if (!_queue.Writer.TryWrite(item))
            {
                return false;
            }

            _queued.Inc();
            return true;
        }

        public async ValueTask EnqueueAsync(WorkItem item, CancellationToken cancellationToken)
        {
            await _queue.Writer.WriteAsync(item, cancellationToken).ConfigureAwait(false);
            _queued.Inc();
        }

        public void Complete() => _queue.Writer.TryComplete();

        private void Work()
        {
            var reader = _queue.Reader;
            while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                while (reader.TryRead(out var item))
                {
                    _queued.Dec();
                    item.Execute();
                    _executed.Inc();
                }
            }
        }
    }
}
