import re,sys,collections
ansi=re.compile(r'\x1b\[[0-9;]*m')
def count(f):
    c=collections.Counter()
    for line in open(f,errors='replace'):
        line=ansi.sub('',line)
        if 'sqlx::query:' in line:
            m=re.search(r'db\.statement="(.*?)(?<!\\)" rows_affected',line)
            s=m.group(1) if m else line[:200]
            s=' '.join(s.replace('\\n',' ').split())
            c['R '+s[:150]]+=1
        elif 'wagate_writer:' in line:
            s=line.split('wagate_writer:',1)[1].strip()
            c['W '+s[:150]]+=1
    return c
a=count(sys.argv[1]); b=count(sys.argv[2]); n=float(sys.argv[3])
tot={'R':0,'W':0}
rows=[]
for k in set(a)|set(b):
    d=(b[k]-a[k])/n
    if abs(d)>=0.02: rows.append((d,k)); tot[k[0]]+=d
for d,k in sorted(rows,reverse=True): print(f"{d:6.2f} {k}")
print(tot)
