import type { Icon } from '@modelcontextprotocol/server';

/**
 * assets/icon.svg and assets/icon-64.png inlined as data URIs: a local server has no web host to point
 * at. test/icons.test.ts checks they decode to those files byte for byte.
 */
export const ICONS: Icon[] = [
  {
    src:
      'data:image/svg+xml;base64,' +
      'PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHdpZHRoPSI1MTIiIGhlaWdodD0iNTEyIiB2aWV3Qm94' +
      'PSIwIDAgNTEyIDUxMiI+CiAgPHRpdGxlPmNoZWNrcG9pbnQtbWNwPC90aXRsZT4KICA8cmVjdCB3aWR0aD0iNTEyIiBoZWln' +
      'aHQ9IjUxMiIgcng9Ijk2IiBmaWxsPSIjMWQzNTU3Ii8+CiAgPHBhdGggZD0iTTEzNiA4OGgxNzZsODAgODB2MjU2YTI0IDI0' +
      'IDAgMCAxLTI0IDI0SDEzNmEyNCAyNCAwIDAgMS0yNC0yNFYxMTJhMjQgMjQgMCAwIDEgMjQtMjR6IiBmaWxsPSIjZjFmYWVl' +
      'Ii8+CiAgPHBhdGggZD0iTTMxMiA4OHY1NmEyNCAyNCAwIDAgMCAyNCAyNGg1NnoiIGZpbGw9IiNhOGRhZGMiLz4KICA8ZyBm' +
      'aWxsPSIjNDU3YjlkIj4KICAgIDxyZWN0IHg9IjE1MiIgeT0iMTY4IiB3aWR0aD0iOTYiIGhlaWdodD0iMjAiIHJ4PSIxMCIv' +
      'PgogICAgPHJlY3QgeD0iMTUyIiB5PSIyMTYiIHdpZHRoPSIyMDAiIGhlaWdodD0iMTYiIHJ4PSI4Ii8+CiAgICA8cmVjdCB4' +
      'PSIxNTIiIHk9IjI1NiIgd2lkdGg9IjE2OCIgaGVpZ2h0PSIxNiIgcng9IjgiLz4KICAgIDxyZWN0IHg9IjE1MiIgeT0iMjk2' +
      'IiB3aWR0aD0iMTEyIiBoZWlnaHQ9IjE2IiByeD0iOCIvPgogIDwvZz4KICA8Y2lyY2xlIGN4PSIzNTIiIGN5PSIzNzYiIHI9' +
      'Ijg4IiBmaWxsPSIjMmE5ZDhmIiBzdHJva2U9IiMxZDM1NTciIHN0cm9rZS13aWR0aD0iMTYiLz4KICA8cGF0aCBkPSJNMzA4' +
      'IDM3OGwzMCAzMCA1OC02MiIgZmlsbD0ibm9uZSIgc3Ryb2tlPSIjZjFmYWVlIiBzdHJva2Utd2lkdGg9IjI0IiBzdHJva2Ut' +
      'bGluZWNhcD0icm91bmQiIHN0cm9rZS1saW5lam9pbj0icm91bmQiLz4KPC9zdmc+Cg==',
    mimeType: 'image/svg+xml',
    sizes: ['any'],
  },
  {
    src:
      'data:image/png;base64,' +
      'iVBORw0KGgoAAAANSUhEUgAAAEAAAABACAYAAACqaXHeAAAABmJLR0QA/wD/AP+gvaeTAAAHL0lEQVR4nO2bfVCcxR3HP7vP' +
      'wzsBDkiEu4NAQkLalCQ2EoKZoZrGxJrGxHYiTuN0xont1NZWO512Rm21pjp9nfFtWqdOJjpjOmI001ESO+0YJspICC8VlLzY' +
      'IYQ3IQiBQIBycPds/7hwwMGdd8cdd5h+/rvd/e3+9vvs/p7dffYEXjBv3JstNblbKHYKyFFgBRK82UQAIwI6FbQqxTFDiLe6' +
      'ass6PBUWcyVai/dasMvHBewHtJC5ujAYwFFNE79orS5rdc+cJUDWprv3gHgVReJCeLdQCLiqlLi3o67s7enpM55udmHpQyAO' +
      'ATEL6t3CEIOgNMVScGWwq+n0ZKJrBGRtunsPShwFZFjcWzgMlLhrciQIAEvRPqtU9nNftGHvCQFXlV2s6fiwrEsCSMN+4Hrp' +
      'PICCJUJXTwII88a92ZqULSz+aO8vDkPqOVKX2h6uv84DaNLh2C0VxjfC7Um4EFLdIREiL9yOhA3FSh3ICMQ2Kkrnwe/t4s4d' +
      'm1manhRkz5yUnfyYpx77S0jqBlACiww0+v/4/l3s37c9ZJ0HSM6x8Munfxiy+lEkBrzo2XX75mC64pHkHAu//v2DIas/YAFC' +
      '+eTdSbBmhkyERbPsDZUIi0YACI0Ii0oACL4IES1ArDa3e8EUIaIFMCdGe8xLsGby+G9/NO82IlqAVSlxrEiO9TgSlmSb5y2C' +
      'Pi9rN545WkvVmU6U8l5OCNiy1srD3y70Wk4KQb4pnnxTvOdCOakcCMBXVxvzsJ3Fxy29n9t5AKXgo4u9wWw6YII6Ah79TjG1' +
      '/+nGYXhXQZOCwtWZwWw6YIIqQJ7FRJ7FFMwqQ05EB8GF4LoXIKhT4LFD7/FJR38wq5zBl7LT+M19JUGtM6gjQIo5v7QFjxBU' +
      'H9QREOynsxBc9zHguhcgooNgKIKeO5EdBEMcU+H/QTC4AgSb7p5+Kiobeb+qia7uy1zqHQAgY6kJc2YaX7u5gK0l6+fVhsgq' +
      'LPVh/zabpg9enFfD3ujpu8KLh47z9/IqHIbhtayUAuNzNl/eCHsQdA90JyobeOTAK4yO2kAT6HlpROWkItPjEQnOiytqxIaj' +
      'dwR76wD21gFA4QwY/gsRVAECCoLTTA4fqeAPL7yJYSj0lanEFC1HJs2+rSNS4pApcUStSscYHMNW3Yb94kBAGkTMFDhR2cBP' +
      'H30JpSC6OJvodf6dF4w3dGE73e63ABGxEOrpvcIjB17BMBTRm/3vPED0BjMxRdl+20WEAH8+WM7oqA19ZSrR6/3rfLSmsTo1' +
      'jWhNI3qDGT0n1S/7sL8Gu3v6eeudatAEMUXL/bJNiIriuW3bWZueTm13Nz9591/EFGdj7xgAh29zIewjoKKyEYdhoOemzhnw' +
      'PBGrafzxlq2sTU8HYE1qGgAyORZ9ue+jIOwCVJ5qAkBf7vtZoi4lT5Xcwo0ZzrsdCniuvnYqP9f3usIuQHtnHwDasql7GtPn' +
      'tTtSCH518xa2WK2utBfqazl+odn1W1vq+33usMeAvv5BAER8lCvtT7d+ncLMTM5f7uOhE+8yZLO58n62qYjtuStcv1/+qJHX' +
      'zp6dUadI8PxJzZ2wj4C5mJzPa9LSeX7bbSTFOGPDAxu+yrdW57vKvXH+HC81NsyyF36sBcIuwLK0ZADU6IQr7dm6Goxrn5jy' +
      'U9N4ftttfH/9Br5bUOAq84+WCzxbV8tcGCMTc6bPRdgFsFqcUdzx2bAr7Z2WC/yuumqGCPetm9r1vdfRztOnpvLdcfRe9bn9' +
      'sAtQUux8qs5NzRTlzc0zRJik/lI3T1S+73WXaG8b8JjnTtgF2FqyHk1K7K0DGINjM/LcRTjT18fPT1Zgczg81mcMjjk3Rj6i' +
      'IxgO503xjGUm7tpZzJvlH2CrbiNuR/6M/PLmZjqHh1mVYuLYhWb+O2H3XJlS2KrbwPfzgSGJoisQxz/rGwzEbE4euP+bJMTH' +
      'Yr84wHjDbHc+vHSJI+fPMTrhPbiNN3T79fQVdGnJlrU7wf/7wmmmJdy4bqW/ZnOSGB9L3goz/6yox945iNAlWsYS3ytQivGG' +
      'bmw17X61KwU1WpL5KyYhuMNPn6lrbCZa17GY00mIj/XXfBa52TeQlBRP1emz2DsGMS6PoC1NRMR6X6sZg2OMnWxh4kxPIKfI' +
      'zwhz4T1ZGuoikfifASnQc1LRc01o6YmIROdqUY2MXzsS63cO+cDOBO2G1HMFQNZNpQcR7A+i65GP4K8dNa//QAKoKOMJAb6v' +
      'HhY/Q9IR9SRcWwd0nnrjU0NRCnh+wX5xMATq3rb6w90wbd4PdZ1pTrEUXAF2sCAfpcKCoQQPd9QeeXUyYfZfZ2+6504h1GEF' +
      'fryHFgVDQrCvveb1Y9MTZ0X+oa6mT+Ju+PJBKYkRiI1EwHJ5nhhKcFgzova01732b/dMr0PdUrTPKh2O3Qi1U0GuEFgj/g+W' +
      'gmGl6JSCFqU4bkj97U9P/63TU/H/ASMxTgmXHzsgAAAAAElFTkSuQmCC',
    mimeType: 'image/png',
    sizes: ['64x64'],
  },
];
