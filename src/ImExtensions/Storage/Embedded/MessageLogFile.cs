using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using Microsoft.Win32.SafeHandles;

namespace MqttIm.ImExtensions.Storage.Embedded;

/// <summary>
/// An append-only file of records, each <c>[u32 length][u32 CRC-32 of the body][body]</c> (little-endian), held open
/// exclusively by one process. A batch of records is one write and (when <c>flushToDisk</c>) one fsync: the whole cost of
/// making a group commit durable, where a B-tree rewrites pages of its table and of each index for every commit.
/// </summary>
/// <remarks>
/// Opening reads every whole record and cuts a torn tail (the part of a write a crash interrupted, never acknowledged
/// because its fsync had not returned). The cut bytes are first copied to a <c>.corrupt-…</c> file beside the log, so a
/// damaged record in the middle of the file is set aside for an operator instead of silently lost with all after it.
/// </remarks>
internal sealed class MessageLogFile : IDisposable
{
    public const int HeaderBytes = 8;

    // A chat message's payload is at most 16 MiB (ChatOptions); a length past this is a damaged header, not a record.
    public const int MaxRecordBytes = 64 * 1024 * 1024 - HeaderBytes;

    // Where the index's packed positions end (MessageLogIndex.Location): 256 GiB.
    private const long MaxLogBytes = 1L << 38;

    private const int ScanChunkBytes = 1024 * 1024;

    private readonly FileStream _stream;
    private readonly bool _flushToDisk;
    private bool _broken;

    private MessageLogFile(FileStream stream, bool flushToDisk, long length)
    {
        _stream = stream;
        _flushToDisk = flushToDisk;
        Length = length;
    }

    public string Path => _stream.Name;

    /// <summary>Bytes of whole records; the next append starts here.</summary>
    public long Length { get; private set; }

    /// <summary>Where the cut tail of the last open went (null when the file ended on a whole record).</summary>
    public string? CutTailPath { get; private set; }

    /// <summary>
    /// Opens (creating) the log, calls <paramref name="onRecord"/> with each whole record's position, total length and
    /// body in file order, and cuts what follows the last whole record. Fails when another process has the file open.
    /// </summary>
    public static MessageLogFile Open(string path, bool flushToDisk, Action<long, int, ReadOnlySpan<byte>> onRecord)
    {
        // FileShare.None takes an exclusive advisory lock (flock) on Unix: a second broker on this data directory fails here.
        var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 0);
        try
        {
            var end = Scan(stream.SafeFileHandle, onRecord);
            var log = new MessageLogFile(stream, flushToDisk, end);
            log.CutTail();
            return log;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Writes the header of <paramref name="record"/>, whose body is already in place after <see cref="HeaderBytes"/>.</summary>
    public static void SealRecord(Span<byte> record)
    {
        var body = record[HeaderBytes..];
        BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)body.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record[4..], Crc32.HashToUInt32(body));
    }

    /// <summary>
    /// Appends whole records (each sealed with <see cref="SealRecord"/>) in one write, then fsyncs when the log was opened so.
    /// Returns the position of the first. A failed append leaves the log as it was, or refuses every later append when
    /// even that cannot be ensured (a restart then cuts the partial write).
    /// </summary>
    public long Append(ReadOnlySpan<byte> records)
    {
        ObjectDisposedException.ThrowIf(_stream.SafeFileHandle.IsClosed, this);
        if (_broken)
        {
            throw new IOException($"The message log {Path} could not undo a failed write; restart the broker to recover it.");
        }

        var position = Length;
        if (position + records.Length > MaxLogBytes)
        {
            throw new IOException($"The message log {Path} is full ({MaxLogBytes >> 30} GiB); nothing of this batch was written.");
        }

        try
        {
            RandomAccess.Write(_stream.SafeFileHandle, records, position);
            if (_flushToDisk)
            {
                RandomAccess.FlushToDisk(_stream.SafeFileHandle);
            }
        }
        catch
        {
            // Bytes of the failed write must not stay past Length: a later shorter write would leave whole stale records
            // after it, which the next open would read back as stored.
            try
            {
                RandomAccess.SetLength(_stream.SafeFileHandle, position);
            }
            catch
            {
                _broken = true;
            }

            throw;
        }

        Length = position + records.Length;
        return position;
    }

    /// <summary>Reads the body of the record at <paramref name="position"/> (whose total length is <paramref name="length"/>), checking its CRC.</summary>
    public byte[] ReadBody(long position, int length)
    {
        var record = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var read = RandomAccess.Read(_stream.SafeFileHandle, record.AsSpan(0, length), position);
            if (read != length || ParseHeader(record.AsSpan(0, read)) is not { } bodyLength || bodyLength != length - HeaderBytes
                || !BodyMatches(record.AsSpan(0, length), bodyLength))
            {
                throw new InvalidDataException($"The message log {Path} has a damaged record at byte {position}.");
            }

            return record.AsSpan(HeaderBytes, bodyLength).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(record);
        }
    }

    public void Dispose() => _stream.Dispose();

    private static long Scan(SafeFileHandle file, Action<long, int, ReadOnlySpan<byte>> onRecord)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(ScanChunkBytes);
        try
        {
            long chunkStart = 0; // file position of buffer[0]
            var filled = 0;
            var offset = 0; // next record's start within the buffer
            while (true)
            {
                var available = buffer.AsSpan(offset, filled - offset);
                if (ParseHeader(available) is { } bodyLength && available.Length >= HeaderBytes + bodyLength)
                {
                    if (!BodyMatches(available, bodyLength))
                    {
                        return chunkStart + offset;
                    }

                    onRecord(chunkStart + offset, HeaderBytes + bodyLength, available.Slice(HeaderBytes, bodyLength));
                    offset += HeaderBytes + bodyLength;
                    continue;
                }

                if (available.Length >= HeaderBytes && ParseHeader(available) is null)
                {
                    return chunkStart + offset; // a length no record has: damage, or zeros a crash left
                }

                // The next record is not whole in the buffer: move it to the front and read on.
                var needed = available.Length >= HeaderBytes ? HeaderBytes + ParseHeader(available)!.Value : HeaderBytes;
                if (needed > buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(needed);
                    available.CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                else
                {
                    available.CopyTo(buffer);
                }

                chunkStart += offset;
                filled = available.Length;
                offset = 0;
                var read = RandomAccess.Read(file, buffer.AsSpan(filled), chunkStart + filled);
                if (read == 0)
                {
                    return chunkStart; // end of file, possibly inside a record a crash cut short
                }

                filled += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static int? ParseHeader(ReadOnlySpan<byte> record)
    {
        if (record.Length < HeaderBytes)
        {
            return null;
        }

        var length = BinaryPrimitives.ReadUInt32LittleEndian(record);
        return length is > 0 and <= MaxRecordBytes ? (int)length : null;
    }

    private static bool BodyMatches(ReadOnlySpan<byte> record, int bodyLength) =>
        Crc32.HashToUInt32(record.Slice(HeaderBytes, bodyLength)) == BinaryPrimitives.ReadUInt32LittleEndian(record[4..]);

    private void CutTail()
    {
        var fileLength = RandomAccess.GetLength(_stream.SafeFileHandle);
        if (fileLength == Length)
        {
            return;
        }

        CutTailPath = $"{Path}.corrupt-{DateTime.UtcNow:yyyyMMddTHHmmssfff}";
        using (var aside = new FileStream(CutTailPath, FileMode.CreateNew, FileAccess.Write))
        {
            var tail = new byte[fileLength - Length];
            RandomAccess.Read(_stream.SafeFileHandle, tail, Length);
            aside.Write(tail);
            aside.Flush(flushToDisk: true);
        }

        RandomAccess.SetLength(_stream.SafeFileHandle, Length);
        RandomAccess.FlushToDisk(_stream.SafeFileHandle);
    }
}
